import type { MigrationContext } from '../src/adapters/postgres/migrator.js';

/**
 * Write lanes with their cursors; presence leases; last-seen times; and
 * idempotency keyed by (sender, conversation, client id), so a client id
 * reused in another conversation is a new message.
 */
export async function up({ context: { sequelize } }: { context: MigrationContext }): Promise<void> {
  await sequelize.query(`
    CREATE TABLE write_lanes (
      lane    integer PRIMARY KEY,
      last_id bigint NOT NULL DEFAULT 0
    );

    CREATE TABLE server_nodes (
      node_id          text PRIMARY KEY,
      started_at       timestamptz NOT NULL DEFAULT now(),
      renewed_at       timestamptz NOT NULL DEFAULT now(),
      lease_expires_at timestamptz NOT NULL
    );

    CREATE TABLE presence (
      user_id      integer NOT NULL,
      node_id      text NOT NULL,
      connected_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (user_id, node_id)
    );
    CREATE INDEX presence_node ON presence (node_id);

    ALTER TABLE users ADD COLUMN last_seen_at timestamptz;

    CREATE UNIQUE INDEX messages_sender_conversation_client_id_unique ON messages (sender_id, conversation_id, client_id)
      WHERE client_id IS NOT NULL;
    DROP INDEX messages_sender_client_id_unique;
  `);
}

export async function down({ context: { sequelize } }: { context: MigrationContext }): Promise<void> {
  await sequelize.query(`
    CREATE UNIQUE INDEX messages_sender_client_id_unique ON messages (sender_id, client_id) WHERE client_id IS NOT NULL;
    DROP INDEX messages_sender_conversation_client_id_unique;
    ALTER TABLE users DROP COLUMN last_seen_at;
    DROP TABLE presence, server_nodes, write_lanes;
  `);
}
