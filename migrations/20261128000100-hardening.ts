import type { MigrationContext } from '../src/adapters/postgres/migrator.js';

/**
 * Usernames unique without regard to case; failed-login counters for the
 * per-account lockout; and an index of live messages (with the sender) that
 * keeps unread counts and last-message lookups off deleted rows and off the
 * table itself.
 */
export async function up({ context: { sequelize } }: { context: MigrationContext }): Promise<void> {
  await sequelize.query(`
    -- Usernames that differ only in case (possible before) keep the oldest as is; later ones get their id appended.
    UPDATE users u SET username = u.username || '_' || u.id
    WHERE EXISTS (SELECT 1 FROM users o WHERE lower(o.username) = lower(u.username) AND o.id < u.id);
    CREATE UNIQUE INDEX users_username_lower_unique ON users (lower(username));
    DROP INDEX users_username_unique;

    CREATE TABLE login_failures (
      account           text PRIMARY KEY,
      failures          integer NOT NULL,
      window_started_at timestamptz NOT NULL,
      locked_until      timestamptz
    );

    CREATE INDEX messages_live_by_conversation ON messages (conversation_id, id) INCLUDE (sender_id) WHERE deleted_at IS NULL;
    DROP INDEX messages_conversation_id;
  `);
}

export async function down({ context: { sequelize } }: { context: MigrationContext }): Promise<void> {
  await sequelize.query(`
    CREATE INDEX messages_conversation_id ON messages (conversation_id, id);
    DROP INDEX messages_live_by_conversation;
    DROP TABLE login_failures;
    CREATE UNIQUE INDEX users_username_unique ON users (username);
    DROP INDEX users_username_lower_unique;
  `);
}
