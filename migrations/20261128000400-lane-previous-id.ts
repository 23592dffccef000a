import type { MigrationContext } from '../src/adapters/postgres/migrator.js';

/**
 * Each lane also keeps the highest id before its latest batch. The statement
 * that writes a batch returns it, so the writing process can tell whether it
 * has already delivered every earlier batch of the lane, and then deliver its
 * own batch at once instead of waiting for its notification to come back.
 */
export async function up({ context: { sequelize } }: { context: MigrationContext }): Promise<void> {
  await sequelize.query('ALTER TABLE write_lanes ADD COLUMN prev_id bigint NOT NULL DEFAULT 0');
}

export async function down({ context: { sequelize } }: { context: MigrationContext }): Promise<void> {
  await sequelize.query('ALTER TABLE write_lanes DROP COLUMN prev_id');
}
