import type { MigrationContext } from '../src/adapters/postgres/migrator.js';

/**
 * People and safety: a display name, prefix indexes for the directory, who
 * blocks whom, reports of messages, and the staff's append-only audit log (a
 * trigger refuses UPDATE, DELETE and TRUNCATE on it). The users' access
 * trigger also announces profile changes, so every process's profile cache
 * forgets a user whose display name, picture or phone changed.
 */
export async function up({ context: { sequelize } }: { context: MigrationContext }): Promise<void> {
  await sequelize.query(`
    ALTER TABLE users ADD COLUMN display_name varchar(100);
    CREATE INDEX users_username_prefix ON users (lower(username) text_pattern_ops) WHERE deleted_at IS NULL;
    CREATE INDEX users_display_name_prefix ON users (lower(display_name) text_pattern_ops) WHERE deleted_at IS NULL AND display_name IS NOT NULL;

    CREATE TABLE user_blocks (
      blocker_id integer NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      blocked_id integer NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (blocker_id, blocked_id),
      CHECK (blocker_id <> blocked_id)
    );
    CREATE INDEX user_blocks_blocked ON user_blocks (blocked_id, blocker_id);

    CREATE TABLE message_reports (
      id          serial PRIMARY KEY,
      message_id  bigint NOT NULL,
      conversation_id integer NOT NULL REFERENCES conversations (id),
      sender_id   integer NOT NULL REFERENCES users (id),
      content     text NOT NULL,
      reporter_id integer NOT NULL REFERENCES users (id),
      reason      varchar(1000) NOT NULL,
      status      varchar(16) NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'dismissed', 'actioned')),
      resolved_by integer REFERENCES users (id),
      resolved_at timestamptz,
      created_at  timestamptz NOT NULL DEFAULT now(),
      UNIQUE (message_id, reporter_id)
    );
    CREATE INDEX message_reports_queue ON message_reports (status, id);
    CREATE INDEX message_reports_reporter ON message_reports (reporter_id, created_at);

    CREATE TABLE audit_log (
      id             bigserial PRIMARY KEY,
      actor_id       integer NOT NULL REFERENCES users (id),
      action         varchar(32) NOT NULL,
      target_user_id integer REFERENCES users (id),
      message_id     bigint,
      report_id      integer REFERENCES message_reports (id),
      details        jsonb NOT NULL DEFAULT '{}',
      created_at     timestamptz NOT NULL DEFAULT now()
    );
    CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'audit_log is append-only';
    END $$;
    CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
    CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

    CREATE OR REPLACE FUNCTION users_announce_access_change() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
      ch text;
      change text;
    BEGIN
      SELECT channel INTO ch FROM fanout_settings;
      IF ch IS NULL THEN RETURN NULL; END IF;
      IF TG_OP = 'DELETE' OR (NEW.deleted_at IS NOT NULL AND OLD.deleted_at IS NULL) THEN change := 'deleted';
      ELSIF OLD.is_active AND NOT NEW.is_active THEN change := 'deactivated';
      ELSIF NEW.password IS DISTINCT FROM OLD.password AND current_setting('chat.password_rehash', true) IS DISTINCT FROM 'on' THEN change := 'credentials';
      ELSIF NEW.is_active IS DISTINCT FROM OLD.is_active OR NEW.is_staff IS DISTINCT FROM OLD.is_staff
         OR NEW.is_superuser IS DISTINCT FROM OLD.is_superuser OR NEW.username IS DISTINCT FROM OLD.username
         OR NEW.deleted_at IS DISTINCT FROM OLD.deleted_at OR NEW.display_name IS DISTINCT FROM OLD.display_name
         OR NEW.profile_picture IS DISTINCT FROM OLD.profile_picture OR NEW.phone_number IS DISTINCT FROM OLD.phone_number THEN change := 'changed';
      ELSE RETURN NULL;
      END IF;
      PERFORM pg_notify(ch, json_build_object('t', 'a', 'n', 'database', 'u', coalesce(NEW.id, OLD.id), 's', NULL, 'c', change)::text);
      RETURN NULL;
    END $$;
  `);
}

export async function down({ context: { sequelize } }: { context: MigrationContext }): Promise<void> {
  await sequelize.query(`
    CREATE OR REPLACE FUNCTION users_announce_access_change() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
      ch text;
      change text;
    BEGIN
      SELECT channel INTO ch FROM fanout_settings;
      IF ch IS NULL THEN RETURN NULL; END IF;
      IF TG_OP = 'DELETE' OR (NEW.deleted_at IS NOT NULL AND OLD.deleted_at IS NULL) THEN change := 'deleted';
      ELSIF OLD.is_active AND NOT NEW.is_active THEN change := 'deactivated';
      ELSIF NEW.password IS DISTINCT FROM OLD.password AND current_setting('chat.password_rehash', true) IS DISTINCT FROM 'on' THEN change := 'credentials';
      ELSIF NEW.is_active IS DISTINCT FROM OLD.is_active OR NEW.is_staff IS DISTINCT FROM OLD.is_staff
         OR NEW.is_superuser IS DISTINCT FROM OLD.is_superuser OR NEW.username IS DISTINCT FROM OLD.username
         OR NEW.deleted_at IS DISTINCT FROM OLD.deleted_at THEN change := 'changed';
      ELSE RETURN NULL;
      END IF;
      PERFORM pg_notify(ch, json_build_object('t', 'a', 'n', 'database', 'u', coalesce(NEW.id, OLD.id), 's', NULL, 'c', change)::text);
      RETURN NULL;
    END $$;
    DROP TABLE audit_log;
    DROP FUNCTION audit_log_append_only();
    DROP TABLE message_reports;
    DROP TABLE user_blocks;
    DROP INDEX users_display_name_prefix;
    DROP INDEX users_username_prefix;
    ALTER TABLE users DROP COLUMN display_name;
  `);
}
