import type { MigrationContext } from '../src/adapters/postgres/migrator.js';

/**
 * The duplicate guard is on by default now, and in the closed-loop bench a
 * send without a client id cost about 3 times the PostgreSQL CPU of one with
 * (about 100 against 30 µs per message). It looked among a conversation's 50
 * newest messages, everyone's; it now probes an index of each sender's
 * messages without a client id in each conversation by a digest of their
 * content, newest first: only rows of the same sender with the same content
 * are read (none or one, as a rule), however fast that sender writes, and the
 * walk stops at the first one older than the window (or after 50).
 *
 * The index is partial: sends with a client id, which the guard never
 * compares, add nothing to it. The digest (md5 as a uuid, 16 bytes) keeps long
 * contents out of the index; equal digests are still compared in full. The
 * lookup asks for the index's own order with a LIMIT, and sorting is off for
 * the function: when the planner expected fewer rows than the LIMIT (sender
 * and conversation go together, so the estimate of both ranges multiplied is
 * far too low), it chose a bitmap scan of every row of the pair and a sort.
 * Without a sort the index's order is the one plan. The function stays
 * VOLATILE, for the reason given in 20261129000000.
 */
export async function up({ context: { sequelize } }: { context: MigrationContext }): Promise<void> {
  await sequelize.query(`
    CREATE INDEX messages_unkeyed_by_sender ON messages (sender_id, conversation_id, (md5(content)::uuid), id) WHERE client_id IS NULL AND deleted_at IS NULL;

    CREATE OR REPLACE FUNCTION messages_recent_duplicate(
      p_conversation_id integer, p_sender_id integer, p_type enum_messages_type, p_content text, p_attachment jsonb,
      p_since_ms bigint, p_slack_ms bigint
    ) RETURNS bigint LANGUAGE plpgsql VOLATILE SET enable_sort = off AS $$
    DECLARE
      since timestamptz := timestamptz 'epoch' + p_since_ms * interval '1 millisecond';
      r record;
    BEGIN
      FOR r IN
        SELECT id, type, content, attachment, created_at FROM messages
        WHERE sender_id BETWEEN p_sender_id AND p_sender_id AND conversation_id BETWEEN p_conversation_id AND p_conversation_id
          AND md5(content)::uuid = md5(p_content)::uuid AND client_id IS NULL AND deleted_at IS NULL
        ORDER BY sender_id DESC, conversation_id DESC, md5(content)::uuid DESC, id DESC LIMIT 50
      LOOP
        EXIT WHEN r.created_at < since - p_slack_ms * interval '1 millisecond';
        IF r.created_at >= since AND r.type = p_type AND r.content = p_content AND r.attachment IS NOT DISTINCT FROM p_attachment THEN
          RETURN r.id;
        END IF;
      END LOOP;
      RETURN NULL;
    END $$;
  `);
}

export async function down({ context: { sequelize } }: { context: MigrationContext }): Promise<void> {
  await sequelize.query(`
    ALTER FUNCTION messages_recent_duplicate(integer, integer, enum_messages_type, text, jsonb, bigint, bigint) RESET ALL;
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

    DROP INDEX messages_unkeyed_by_sender;
  `);
}
