import type { MigrationContext } from '../src/adapters/postgres/migrator.js';

/**
 * Sessions with rotating refresh tokens (stored only as hashes; retired ones
 * are kept, so a replay is recognised), and a trigger that announces a user's
 * lost or changed access to every server process, whoever made the change
 * (this server, or a Django admin editing the shared users table). It
 * notifies on the channel the servers record in `fanout_settings`; the payload
 * is a fan-out notification of kind "a" (src/adapters/fanout/engine/notification-codec.ts).
 */
export async function up({ context: { sequelize } }: { context: MigrationContext }): Promise<void> {
  await sequelize.query(`
    CREATE TABLE sessions (
      id           uuid PRIMARY KEY,
      user_id      integer NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      device_label varchar(255),
      ip           varchar(64),
      created_at   timestamptz NOT NULL,
      last_used_at timestamptz NOT NULL,
      expires_at   timestamptz NOT NULL,
      revoked_at   timestamptz
    );
    CREATE INDEX sessions_user ON sessions (user_id, last_used_at DESC);

    CREATE TABLE refresh_tokens (
      token_hash text PRIMARY KEY,
      session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
      created_at timestamptz NOT NULL,
      retired_at timestamptz
    );
    CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

    CREATE TABLE fanout_settings (
      singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
      channel   text
    );

    CREATE FUNCTION users_announce_access_change() RETURNS trigger LANGUAGE plpgsql AS $$
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
    CREATE TRIGGER users_access_change AFTER UPDATE OR DELETE ON users FOR EACH ROW EXECUTE FUNCTION users_announce_access_change();
  `);
}

export async function down({ context: { sequelize } }: { context: MigrationContext }): Promise<void> {
  await sequelize.query(`
    DROP TRIGGER users_access_change ON users;
    DROP FUNCTION users_announce_access_change();
    DROP TABLE fanout_settings, refresh_tokens, sessions;
  `);
}
