import type { MigrationContext } from '../src/adapters/postgres/migrator.js';

/**
 * The same guarantee as the messages' two foreign keys (every message's
 * conversation and sender exist, and neither can be deleted from under it),
 * checked once per statement instead of once per row. A foreign key runs a
 * lookup and locks the referenced row for every inserted message; measured
 * with the batch statement alone, that was about half of PostgreSQL's work per
 * message. Here a statement-level trigger checks all new rows with one join
 * and locks each distinct conversation and sender once, and deletions of a
 * referenced conversation or user are refused as before.
 */
export async function up({ context: { sequelize } }: { context: MigrationContext }): Promise<void> {
  await sequelize.query(`
    ALTER TABLE messages DROP CONSTRAINT messages_conversation_id_fkey, DROP CONSTRAINT messages_sender_id_fkey;

    CREATE FUNCTION messages_check_references() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE missing text;
    BEGIN
      -- Lock each referenced row once (as a foreign key would, for every row), so none is deleted before commit.
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
    CREATE TRIGGER messages_references_on_insert AFTER INSERT ON messages
      REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION messages_check_references();

    -- A message never moves to another conversation or sender.
    CREATE FUNCTION messages_references_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'a message keeps its conversation and sender' USING ERRCODE = 'foreign_key_violation';
    END $$;
    CREATE TRIGGER messages_references_on_update BEFORE UPDATE OF conversation_id, sender_id ON messages FOR EACH ROW
      WHEN (OLD.conversation_id IS DISTINCT FROM NEW.conversation_id OR OLD.sender_id IS DISTINCT FROM NEW.sender_id)
      EXECUTE FUNCTION messages_references_fixed();

    CREATE FUNCTION refuse_delete_of_referenced() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF (TG_TABLE_NAME = 'conversations' AND EXISTS (SELECT 1 FROM messages WHERE conversation_id = OLD.id))
         OR (TG_TABLE_NAME = 'users' AND EXISTS (SELECT 1 FROM messages WHERE sender_id = OLD.id)) THEN
        RAISE EXCEPTION 'delete on table "%" violates a reference from table "messages"', TG_TABLE_NAME
          USING ERRCODE = 'foreign_key_violation';
      END IF;
      RETURN OLD;
    END $$;
    CREATE TRIGGER conversations_referenced_by_messages BEFORE DELETE ON conversations FOR EACH ROW EXECUTE FUNCTION refuse_delete_of_referenced();
    CREATE TRIGGER users_referenced_by_messages BEFORE DELETE ON users FOR EACH ROW EXECUTE FUNCTION refuse_delete_of_referenced();
    CREATE TRIGGER conversations_key_unchanged BEFORE UPDATE OF id ON conversations FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id) EXECUTE FUNCTION refuse_delete_of_referenced();
    CREATE TRIGGER users_key_unchanged BEFORE UPDATE OF id ON users FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id) EXECUTE FUNCTION refuse_delete_of_referenced();
  `);
}

export async function down({ context: { sequelize } }: { context: MigrationContext }): Promise<void> {
  await sequelize.query(`
    DROP TRIGGER users_key_unchanged ON users;
    DROP TRIGGER conversations_key_unchanged ON conversations;
    DROP TRIGGER users_referenced_by_messages ON users;
    DROP TRIGGER conversations_referenced_by_messages ON conversations;
    DROP FUNCTION refuse_delete_of_referenced();
    DROP TRIGGER messages_references_on_update ON messages;
    DROP FUNCTION messages_references_fixed();
    DROP TRIGGER messages_references_on_insert ON messages;
    DROP FUNCTION messages_check_references();
    ALTER TABLE messages ADD CONSTRAINT messages_conversation_id_fkey FOREIGN KEY (conversation_id) REFERENCES conversations (id),
                         ADD CONSTRAINT messages_sender_id_fkey FOREIGN KEY (sender_id) REFERENCES users (id);
  `);
}
