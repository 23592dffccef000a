import type { MigrationContext } from '../src/adapters/postgres/migrator.js';

/**
 * One ordered, durable event stream per conversation. A message's creation is
 * its row in `messages`; every other change that clients replay (an edit, a
 * deletion, a read marker moving, a participant added or removed) and the
 * notices kept for the platform (`message.unread`) is a row here, written by
 * the statement that makes the change true, so it commits or rolls back with
 * it.
 *
 * Both tables draw ids from `messages_id_seq` under the conversation's write
 * lane lock (`pg_advisory_xact_lock(727002, lane)`, as the message writer
 * does, see src/adapters/postgres/write-path/write-lanes.ts), so within a
 * conversation commit order is id order for every kind: a client's cursor is
 * the last id it saw, message or event, and the last message id a client saw
 * is a valid cursor.
 *
 * `stream_horizon()` is the highest id below which everything is committed:
 * it reads the sequence, then waits for each lane's write in flight (takes
 * and at once gives back a shared hold on each lane lock, in lane order). Readers across conversations (`/sync`, webhooks)
 * read up to it, so a later commit of a smaller id is never skipped.
 */
export async function up({ context: { sequelize } }: { context: MigrationContext }): Promise<void> {
  await sequelize.query(`
    CREATE TABLE conversation_events (
      id              bigint PRIMARY KEY,
      conversation_id integer NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
      type            text NOT NULL,
      data            jsonb NOT NULL,
      created_at      timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX conversation_events_conversation ON conversation_events (conversation_id, id);

    CREATE FUNCTION record_conversation_event(conversation integer, event_type text, event_data jsonb) RETURNS bigint
    LANGUAGE plpgsql AS $$
    DECLARE
      new_id bigint;
    BEGIN
      PERFORM pg_advisory_xact_lock(727002, conversation % greatest((SELECT count(*) FROM write_lanes)::int, 1));
      INSERT INTO conversation_events (id, conversation_id, type, data)
      VALUES (nextval('messages_id_seq'), conversation, event_type, event_data) RETURNING id INTO new_id;
      RETURN new_id;
    END $$;

    CREATE FUNCTION stream_horizon() RETURNS bigint
    LANGUAGE plpgsql AS $$
    DECLARE
      top bigint;
      lane integer;
    BEGIN
      SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END INTO top FROM messages_id_seq;
      -- Waits for each lane's write in flight and holds nothing after: no lane waits on another's, and no cycle with a writer.
      FOR lane IN SELECT w.lane FROM write_lanes w ORDER BY w.lane LOOP
        PERFORM pg_advisory_lock_shared(727002, lane);
        PERFORM pg_advisory_unlock_shared(727002, lane);
      END LOOP;
      RETURN top;
    END $$;
  `);
}

export async function down({ context: { sequelize } }: { context: MigrationContext }): Promise<void> {
  await sequelize.query('DROP FUNCTION stream_horizon(); DROP FUNCTION record_conversation_event(integer, text, jsonb); DROP TABLE conversation_events');
}
