import type { MigrationContext } from '../src/adapters/postgres/migrator.js';

/**
 * What `npm run import:legacy` has copied from the original backend's
 * database: one row per imported user, conversation and message, written in
 * the same transaction as the row itself, so an interrupted import resumes
 * where it stopped and a repeated one copies nothing twice. `new_id` equals
 * `legacy_id` except for a conversation merged into another (a second direct
 * conversation of the same pair) or an id this database had already used.
 */
export async function up({ context: { sequelize } }: { context: MigrationContext }): Promise<void> {
  await sequelize.query(`
    CREATE TABLE legacy_id_map (
      entity      text NOT NULL CHECK (entity IN ('users', 'conversations', 'messages')),
      legacy_id   bigint NOT NULL,
      new_id      bigint NOT NULL,
      imported_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (entity, legacy_id)
    );
  `);
}

export async function down({ context: { sequelize } }: { context: MigrationContext }): Promise<void> {
  await sequelize.query('DROP TABLE legacy_id_map');
}
