import type { MigrationContext } from '../src/adapters/postgres/migrator.js';

/**
 * What people expect inside a conversation: reactions (one row per user and
 * emoji, changed by `message_react`, which writes `reaction.updated` in the
 * stream in the same transaction), prior versions of edited messages, a
 * reply's target, archive per participant, who deleted a group, and
 * full-text search: a GIN index on the live messages' conversation and
 * `simple` (language neutral) text search vector, the expression the search
 * query repeats.
 */
export async function up({ context: { sequelize } }: { context: MigrationContext }): Promise<void> {
  await sequelize.query(`
    CREATE TABLE message_reactions (
      message_id bigint NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
      user_id    integer NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      emoji      text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (message_id, emoji, user_id)
    );

    CREATE TABLE message_versions (
      id         bigserial PRIMARY KEY,
      message_id bigint NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
      content    text NOT NULL,
      created_at timestamptz NOT NULL,
      replaced_at timestamptz NOT NULL
    );
    CREATE INDEX message_versions_message ON message_versions (message_id, id);

    ALTER TABLE messages ADD COLUMN reply_to bigint;
    ALTER TABLE conversation_participants ADD COLUMN archived_at timestamptz;
    ALTER TABLE conversations ADD COLUMN deleted_by integer REFERENCES users (id);

    -- btree_gin (a contrib extension, trusted: a database owner may create it) puts the conversation in the
    -- same GIN index as the words, so a search probes the searcher's conversations and never reads another's matches.
    CREATE EXTENSION IF NOT EXISTS btree_gin;
    CREATE INDEX messages_search ON messages USING gin (conversation_id, to_tsvector('simple', content)) WHERE deleted_at IS NULL;

    -- One reaction added or removed. The message row is locked, so the cap on
    -- distinct emoji holds under concurrent reactions; a change is recorded in
    -- the stream with the counts after it. Returns null when the message is
    -- gone, {"limit": true} at the cap, else the event's data (changed: false
    -- when nothing changed, and then nothing is recorded).
    CREATE FUNCTION message_react(target bigint, reactor integer, reaction text, adding boolean, max_distinct integer, at timestamptz) RETURNS jsonb
    LANGUAGE plpgsql AS $$
    DECLARE
      conversation integer;
      changed integer;
      counts jsonb;
      result jsonb;
    BEGIN
      SELECT conversation_id INTO conversation FROM messages WHERE id = target AND deleted_at IS NULL FOR UPDATE;
      IF conversation IS NULL THEN RETURN NULL; END IF;
      IF adding THEN
        IF NOT EXISTS (SELECT 1 FROM message_reactions WHERE message_id = target AND emoji = reaction)
           AND (SELECT count(DISTINCT emoji) FROM message_reactions WHERE message_id = target) >= max_distinct THEN
          RETURN jsonb_build_object('limit', true);
        END IF;
        INSERT INTO message_reactions (message_id, user_id, emoji, created_at) VALUES (target, reactor, reaction, at) ON CONFLICT DO NOTHING;
      ELSE
        DELETE FROM message_reactions WHERE message_id = target AND user_id = reactor AND emoji = reaction;
      END IF;
      GET DIAGNOSTICS changed = ROW_COUNT;
      SELECT coalesce(jsonb_agg(jsonb_build_object('emoji', emoji, 'count', n) ORDER BY first_at, emoji), '[]'::jsonb) INTO counts
        FROM (SELECT emoji, count(*) AS n, min(created_at) AS first_at FROM message_reactions WHERE message_id = target GROUP BY emoji) c;
      result := jsonb_build_object('conversation_id', conversation, 'message_id', target, 'user_id', reactor, 'emoji', reaction,
        'added', adding, 'reactions', counts, 'updated_at', to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'));
      IF changed > 0 THEN
        PERFORM record_conversation_event(conversation, 'reaction.updated', result);
      END IF;
      RETURN result || jsonb_build_object('changed', changed > 0);
    END $$;
  `);
}

export async function down({ context: { sequelize } }: { context: MigrationContext }): Promise<void> {
  await sequelize.query(`
    DROP FUNCTION message_react(bigint, integer, text, boolean, integer, timestamptz);
    DROP INDEX messages_search;
    ALTER TABLE conversations DROP COLUMN deleted_by;
    ALTER TABLE conversation_participants DROP COLUMN archived_at;
    ALTER TABLE messages DROP COLUMN reply_to;
    DROP TABLE message_versions;
    DROP TABLE message_reactions;
  `);
}
