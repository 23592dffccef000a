import type { MigrationContext } from '../src/adapters/postgres/migrator.js';

/**
 * Files uploaded to attach to messages (docs/API.md, "Files"): one row per
 * upload, its bytes in the configured storage under a key made from its id.
 * `conversation_id` is set when a message claims it (one message per upload),
 * `message_id` once that message is stored.
 */
export async function up({ context: { sequelize } }: { context: MigrationContext }): Promise<void> {
  await sequelize.query(`
    CREATE TABLE uploads (
      id              uuid PRIMARY KEY,
      owner_id        integer NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      name            text NOT NULL,
      declared_mime   text NOT NULL,
      mime            text,
      size            bigint NOT NULL CHECK (size > 0),
      state           text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'complete')),
      width           integer,
      height          integer,
      has_thumbnail   boolean NOT NULL DEFAULT false,
      conversation_id integer REFERENCES conversations (id) ON DELETE SET NULL,
      message_id      bigint,
      created_at      timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX uploads_owner_recent ON uploads (owner_id, created_at);
    CREATE INDEX uploads_unattached ON uploads (created_at) WHERE conversation_id IS NULL;
  `);
}

export async function down({ context: { sequelize } }: { context: MigrationContext }): Promise<void> {
  await sequelize.query('DROP TABLE uploads');
}
