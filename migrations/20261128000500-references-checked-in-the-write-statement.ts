import type { MigrationContext } from '../src/adapters/postgres/migrator.js';

/**
 * The batch statement (src/adapters/postgres/write-path/message-writer.ts) checks its
 * rows' conversation and sender itself, inside the statement, and stores only
 * rows whose references exist. Measured with the statement alone in batches
 * of 20, the statement-level trigger's own check (a PL/pgSQL query over the
 * transition table, plus a row lock on every referenced conversation and
 * user) cost about as much PostgreSQL CPU as the rest of the insert.
 *
 * The guarantee stays whole:
 * - The trigger still checks every other insert. The write statement marks
 *   its own transaction with `chat.references_checked` set to its statement
 *   timestamp, so the mark covers that statement alone.
 * - Deleting (or re-keying) a conversation or user first takes a SHARE lock on
 *   messages: it waits for every insert in progress to commit, then refuses if
 *   any message refers to the row; inserts that start meanwhile wait for it,
 *   and their check (in READ COMMITTED, a snapshot taken after the lock) sees
 *   the row gone. So the inserts no longer lock each referenced row.
 * - An insert under REPEATABLE READ or SERIALIZABLE, whose snapshot may predate
 *   such a delete, still locks the referenced rows as before, so a concurrent
 *   delete makes one of the two fail.
 */
export async function up({ context: { sequelize } }: { context: MigrationContext }): Promise<void> {
  await sequelize.query(`
    CREATE OR REPLACE FUNCTION messages_check_references() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE missing text;
    BEGIN
      IF current_setting('chat.references_checked', true) = statement_timestamp()::text THEN
        RETURN NULL;
      END IF;
      IF current_setting('transaction_isolation') <> 'read committed' THEN
        PERFORM 1 FROM conversations c WHERE c.id IN (SELECT DISTINCT conversation_id FROM new_rows) ORDER BY c.id FOR KEY SHARE;
        PERFORM 1 FROM users u WHERE u.id IN (SELECT DISTINCT sender_id FROM new_rows) ORDER BY u.id FOR KEY SHARE;
      END IF;
      SELECT format('conversation_id=%s sender_id=%s', n.conversation_id, n.sender_id) INTO missing
      FROM new_rows n
      WHERE NOT EXISTS (SELECT 1 FROM conversations c WHERE c.id = n.conversation_id)
         OR NOT EXISTS (SELECT 1 FROM users u WHERE u.id = n.sender_id)
      LIMIT 1;
      IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'insert or update on table "messages" violates its references (%)', missing
          USING ERRCODE = 'foreign_key_violation';
      END IF;
      RETURN NULL;
    END $$;

    CREATE OR REPLACE FUNCTION refuse_delete_of_referenced() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      -- Inserts in progress finish first; new ones wait until this transaction ends.
      LOCK TABLE messages IN SHARE MODE;
      IF (TG_TABLE_NAME = 'conversations' AND EXISTS (SELECT 1 FROM messages WHERE conversation_id = OLD.id))
         OR (TG_TABLE_NAME = 'users' AND EXISTS (SELECT 1 FROM messages WHERE sender_id = OLD.id)) THEN
        RAISE EXCEPTION 'delete on table "%" violates a reference from table "messages"', TG_TABLE_NAME
          USING ERRCODE = 'foreign_key_violation';
      END IF;
      RETURN OLD;
    END $$;
  `);
}

export async function down({ context: { sequelize } }: { context: MigrationContext }): Promise<void> {
  await sequelize.query(`
    CREATE OR REPLACE FUNCTION messages_check_references() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE missing text;
    BEGIN
      PERFORM 1 FROM conversations c WHERE c.id IN (SELECT DISTINCT conversation_id FROM new_rows) ORDER BY c.id FOR KEY SHARE;
      PERFORM 1 FROM users u WHERE u.id IN (SELECT DISTINCT sender_id FROM new_rows) ORDER BY u.id FOR KEY SHARE;
      SELECT format('conversation_id=%s sender_id=%s', n.conversation_id, n.sender_id) INTO missing
      FROM new_rows n
      WHERE NOT EXISTS (SELECT 1 FROM conversations c WHERE c.id = n.conversation_id)
         OR NOT EXISTS (SELECT 1 FROM users u WHERE u.id = n.sender_id)
      LIMIT 1;
      IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'insert or update on table "messages" violates its references (%)', missing
          USING ERRCODE = 'foreign_key_violation';
      END IF;
      RETURN NULL;
    END $$;

    CREATE OR REPLACE FUNCTION refuse_delete_of_referenced() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF (TG_TABLE_NAME = 'conversations' AND EXISTS (SELECT 1 FROM messages WHERE conversation_id = OLD.id))
         OR (TG_TABLE_NAME = 'users' AND EXISTS (SELECT 1 FROM messages WHERE sender_id = OLD.id)) THEN
        RAISE EXCEPTION 'delete on table "%" violates a reference from table "messages"', TG_TABLE_NAME
          USING ERRCODE = 'foreign_key_violation';
      END IF;
      RETURN OLD;
    END $$;
  `);
}
