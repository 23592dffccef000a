import type { MigrationContext } from '../src/adapters/postgres/migrator.js';

/** Events too large for a NOTIFY payload are parked here and announced by id. */
export async function up({ context: { sequelize } }: { context: MigrationContext }): Promise<void> {
  await sequelize.query(`
    CREATE TABLE notification_payloads (
      id         bigserial PRIMARY KEY,
      payload    text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX notification_payloads_created_at ON notification_payloads (created_at);
  `);
}

export async function down({ context: { sequelize } }: { context: MigrationContext }): Promise<void> {
  await sequelize.query('DROP TABLE IF EXISTS notification_payloads');
}
