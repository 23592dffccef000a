import type { MigrationContext } from '../src/adapters/postgres/migrator.js';

/**
 * Web Push: browsers' subscriptions (one row per endpoint, which belongs to
 * one user at a time), a per-participant mute, and `stream_consumers`: the
 * durable position of a reader that follows the event stream (the offline
 * notifier's, named `push`), moved in the transaction that records what it
 * wrote for the events it passed.
 */
export async function up({ context: { sequelize } }: { context: MigrationContext }): Promise<void> {
  await sequelize.query(`
    CREATE TABLE push_subscriptions (
      id              bigserial PRIMARY KEY,
      user_id         integer NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      session_id      uuid REFERENCES sessions (id) ON DELETE CASCADE,
      endpoint        text NOT NULL UNIQUE,
      p256dh          text NOT NULL,
      auth            text NOT NULL,
      expiration_time timestamptz,
      created_at      timestamptz NOT NULL DEFAULT now(),
      updated_at      timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX push_subscriptions_user ON push_subscriptions (user_id, updated_at);

    ALTER TABLE conversation_participants ADD COLUMN muted boolean NOT NULL DEFAULT false;

    CREATE TABLE IF NOT EXISTS stream_consumers (
      name       text PRIMARY KEY,
      position   bigint NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now()
    );
  `);
}

export async function down({ context: { sequelize } }: { context: MigrationContext }): Promise<void> {
  await sequelize.query(`
    DELETE FROM stream_consumers WHERE name = 'push';
    ALTER TABLE conversation_participants DROP COLUMN muted;
    DROP TABLE push_subscriptions;
  `);
}
