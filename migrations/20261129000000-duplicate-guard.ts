import type { MigrationContext } from '../src/adapters/postgres/migrator.js';

/**
 * The opt-in duplicate guard (DUPLICATE_WINDOW_SECONDS) for sends without a
 * client id: the newest live message of a conversation from this sender with
 * the same type, content and attachment created at or after `since_ms`, or null.
 *
 * It is called by the batch insert for guarded rows only, after the write
 * lane's lock is held. It must stay VOLATILE: a volatile function reads with a
 * fresh snapshot, so it sees batches that other processes committed while this
 * one waited for the lock (the statement's own snapshot predates the wait).
 * It walks the conversation's live messages newest first on their index and
 * stops past the window, so its cost is the number of messages sent there
 * within the window; `slack_ms` allows for clocks of several processes that
 * disagree a little, since ids follow commits and times follow clocks.
 */
export async function up({ context: { sequelize } }: { context: MigrationContext }): Promise<void> {
  await sequelize.query(`
    CREATE FUNCTION messages_recent_duplicate(
      p_conversation_id integer, p_sender_id integer, p_type enum_messages_type, p_content text, p_attachment jsonb,
      p_since_ms bigint, p_slack_ms bigint
    ) RETURNS bigint LANGUAGE plpgsql VOLATILE AS $$
    DECLARE
      since timestamptz := timestamptz 'epoch' + p_since_ms * interval '1 millisecond';
      r record;
    BEGIN
      FOR r IN
        SELECT id, sender_id, type, content, attachment, client_id, created_at FROM messages
        WHERE conversation_id = p_conversation_id AND deleted_at IS NULL ORDER BY id DESC LIMIT 50
      LOOP
        EXIT WHEN r.created_at < since - p_slack_ms * interval '1 millisecond';
        IF r.created_at >= since AND r.sender_id = p_sender_id AND r.client_id IS NULL AND r.type = p_type
           AND r.content = p_content AND r.attachment IS NOT DISTINCT FROM p_attachment THEN
          RETURN r.id;
        END IF;
      END LOOP;
      RETURN NULL;
    END $$;
  `);
}

export async function down({ context: { sequelize } }: { context: MigrationContext }): Promise<void> {
  await sequelize.query('DROP FUNCTION messages_recent_duplicate(integer, integer, enum_messages_type, text, jsonb, bigint, bigint)');
}
