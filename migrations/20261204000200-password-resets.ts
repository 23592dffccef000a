import type { MigrationContext } from '../src/adapters/postgres/migrator.js';

/**
 * Password reset tokens, stored as their SHA-256 (a database read gives no
 * usable token). A row is spent when used or when a newer token is issued to
 * the same user; spent rows stay until they expire, so the issue rate per
 * account can be counted across processes.
 */
export async function up({ context: { sequelize } }: { context: MigrationContext }): Promise<void> {
  await sequelize.query(`
    CREATE TABLE password_resets (
      id          bigserial PRIMARY KEY,
      user_id     integer NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      token_hash  text NOT NULL UNIQUE,
      created_at  timestamptz NOT NULL,
      expires_at  timestamptz NOT NULL,
      spent_at    timestamptz
    );
    CREATE INDEX password_resets_user ON password_resets (user_id, created_at);
  `);
}

export async function down({ context: { sequelize } }: { context: MigrationContext }): Promise<void> {
  await sequelize.query(`DROP TABLE password_resets;`);
}
