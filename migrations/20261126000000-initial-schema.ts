import type { MigrationContext } from '../src/adapters/postgres/migrator.js';

/** The original tables and fields, plus the indexes the hot queries need. */
export async function up({ context: { sequelize } }: { context: MigrationContext }): Promise<void> {
  await sequelize.query(`
    CREATE TYPE enum_users_role AS ENUM ('landlord', 'tenant');
    CREATE TYPE enum_conversations_kind AS ENUM ('direct', 'group');
    CREATE TYPE enum_messages_type AS ENUM ('text', 'image', 'video', 'file');

    CREATE TABLE users (
      id              serial PRIMARY KEY,
      email           varchar(254) NOT NULL,
      username        varchar(150) NOT NULL,
      password        varchar(255) NOT NULL,
      phone_number    varchar(32),
      profile_picture varchar(2048),
      role            enum_users_role NOT NULL DEFAULT 'tenant',
      is_active       boolean NOT NULL DEFAULT true,
      is_staff        boolean NOT NULL DEFAULT false,
      is_superuser    boolean NOT NULL DEFAULT false,
      date_joined     timestamptz NOT NULL DEFAULT now(),
      last_login      timestamptz,
      created_at      timestamptz NOT NULL DEFAULT now(),
      updated_at      timestamptz NOT NULL DEFAULT now(),
      deleted_at      timestamptz
    );
    CREATE UNIQUE INDEX users_email_unique ON users (lower(email));
    CREATE UNIQUE INDEX users_username_unique ON users (username);

    CREATE TABLE conversations (
      id          serial PRIMARY KEY,
      title       varchar(255),
      kind        enum_conversations_kind NOT NULL DEFAULT 'group',
      is_open     boolean NOT NULL DEFAULT false,
      created_by  integer NOT NULL REFERENCES users (id),
      direct_key  varchar(64),
      created_at  timestamptz NOT NULL DEFAULT now(),
      updated_at  timestamptz NOT NULL DEFAULT now(),
      deleted_at  timestamptz,
      CONSTRAINT direct_is_never_open CHECK (kind = 'group' OR (is_open = false AND direct_key IS NOT NULL))
    );
    CREATE UNIQUE INDEX conversations_direct_pair_unique ON conversations (direct_key)
      WHERE direct_key IS NOT NULL AND deleted_at IS NULL;

    CREATE TABLE conversation_participants (
      conversation_id      integer NOT NULL REFERENCES conversations (id),
      user_id              integer NOT NULL REFERENCES users (id),
      last_read_message_id bigint,
      created_at           timestamptz NOT NULL DEFAULT now(),
      updated_at           timestamptz NOT NULL DEFAULT now(),
      deleted_at           timestamptz,
      PRIMARY KEY (conversation_id, user_id)
    );
    CREATE INDEX conversation_participants_user ON conversation_participants (user_id, conversation_id);

    CREATE TABLE messages (
      id              bigserial PRIMARY KEY,
      conversation_id integer NOT NULL REFERENCES conversations (id),
      sender_id       integer NOT NULL REFERENCES users (id),
      content         text NOT NULL DEFAULT '',
      type            enum_messages_type NOT NULL DEFAULT 'text',
      attachment      jsonb,
      client_id       varchar(64),
      read_at         timestamptz,
      edited_at       timestamptz,
      created_at      timestamptz NOT NULL DEFAULT now(),
      updated_at      timestamptz NOT NULL DEFAULT now(),
      deleted_at      timestamptz
    );
    CREATE INDEX messages_conversation_id ON messages (conversation_id, id);
    CREATE UNIQUE INDEX messages_sender_client_id_unique ON messages (sender_id, client_id)
      WHERE client_id IS NOT NULL;
  `);
}

export async function down({ context: { sequelize } }: { context: MigrationContext }): Promise<void> {
  await sequelize.query(`
    DROP TABLE IF EXISTS messages, conversation_participants, conversations, users;
    DROP TYPE IF EXISTS enum_messages_type, enum_conversations_kind, enum_users_role;
  `);
}
