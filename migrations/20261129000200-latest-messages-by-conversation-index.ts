import type { MigrationContext } from '../src/adapters/postgres/migrator.js';

/**
 * The duplicate guard reads a conversation's latest messages as a range on
 * conversation_id in the live-messages index's order, like the queries in
 * the code (see ONE_CONVERSATION in src/adapters/postgres/repositories/message-row.ts):
 * with an equality, PostgreSQL may walk the primary key backwards instead,
 * through every other conversation's rows.
 */
export async function up({ context: { sequelize } }: { context: MigrationContext }): Promise<void> {
  await sequelize.query(`
    CREATE OR REPLACE FUNCTION messages_recent_duplicate(
      p_conversation_id integer, p_sender_id integer, p_type enum_messages_type, p_content text, p_attachment jsonb,
      p_since_ms bigint, p_slack_ms bigint
    ) RETURNS bigint LANGUAGE plpgsql VOLATILE AS $$
    DECLARE
      since timestamptz := timestamptz 'epoch' + p_since_ms * interval '1 millisecond';
      r record;
    BEGIN
      FOR r IN
        SELECT id, sender_id, type, content, attachment, client_id, created_at FROM messages
        WHERE conversation_id BETWEEN p_conversation_id AND p_conversation_id AND deleted_at IS NULL ORDER BY conversation_id DESC, id DESC LIMIT 50
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
  await sequelize.query(`
    CREATE OR REPLACE FUNCTION messages_recent_duplicate(
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
