import type { MigrationContext } from '../src/adapters/postgres/migrator.js';

/**
 * Marking a conversation read sets read_at on its messages between the old
 * and the new marker. Written as one UPDATE, PostgreSQL may take those rows
 * through the primary key's id range instead of the (conversation_id, id)
 * index: that range holds every conversation's messages sent meanwhile, and
 * the estimates favour it exactly when one conversation holds most rows.
 *
 * Here the rows are chosen in the conversation index's order with sorting
 * turned off for the function's statements: no other path yields that order
 * without a sort, so the conversation index is the one plan left, whatever
 * the statistics say; the update then reaches each row by its id.
 */
export async function up({ context: { sequelize } }: { context: MigrationContext }): Promise<void> {
  await sequelize.query(`
    CREATE FUNCTION messages_mark_read(p_conversation_id integer, p_reader_id integer, p_after_id bigint, p_upto_id bigint, p_at timestamptz)
    RETURNS bigint LANGUAGE sql VOLATILE SET enable_sort = off AS $$
      WITH marked AS (
        UPDATE messages SET read_at = p_at, updated_at = p_at
        WHERE id = ANY (ARRAY(
          SELECT m.id FROM messages m
          WHERE m.conversation_id BETWEEN p_conversation_id AND p_conversation_id AND m.id > p_after_id AND m.id <= p_upto_id AND m.deleted_at IS NULL
          ORDER BY m.conversation_id, m.id
        )) AND sender_id <> p_reader_id AND read_at IS NULL AND deleted_at IS NULL
        RETURNING 1
      )
      SELECT count(*) FROM marked
    $$;
  `);
}

export async function down({ context: { sequelize } }: { context: MigrationContext }): Promise<void> {
  await sequelize.query('DROP FUNCTION messages_mark_read(integer, integer, bigint, bigint, timestamptz)');
}
