import type { MigrationContext } from '../src/adapters/postgres/migrator.js';

/**
 * For brokers that route by interest (NATS, Redis), a process receives only
 * the conversations it follows, so a write lane's sequence is no use to it:
 * each conversation gets its own. `conversation_heads` keeps, per
 * conversation, the highest message id committed and the one before the
 * latest batch; the write statement moves it under the lane's lock and
 * returns `prev_id`, which travels with the batch so that every receiver can
 * tell a gap (a publish lost or late) from the next message. Only those
 * brokers' write statement maintains it; heads of conversations written under
 * another broker may lag, which is safe (a lagging head never announces a
 * gap that is not there).
 */
export async function up({ context: { sequelize } }: { context: MigrationContext }): Promise<void> {
  await sequelize.query(`
    CREATE TABLE conversation_heads (
      conversation_id integer PRIMARY KEY REFERENCES conversations(id) ON DELETE CASCADE,
      last_id bigint NOT NULL,
      prev_id bigint NOT NULL DEFAULT 0
    ) WITH (fillfactor = 70)`);
  await sequelize.query(`INSERT INTO conversation_heads (conversation_id, last_id) SELECT conversation_id, max(id) FROM messages GROUP BY conversation_id`);
}

export async function down({ context: { sequelize } }: { context: MigrationContext }): Promise<void> {
  await sequelize.query('DROP TABLE conversation_heads');
}
