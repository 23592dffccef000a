import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { QueryTypes, type Sequelize } from 'sequelize';
import { SequelizeStorage, Umzug } from 'umzug';
import type { Logger } from '../../application/ports/services.js';

export interface MigrationContext {
  readonly sequelize: Sequelize;
}

type MigrationModule = {
  up: (params: { context: MigrationContext }) => Promise<void>;
  down?: (params: { context: MigrationContext }) => Promise<void>;
};

/** Works from the sources (tsx) and from the build (dist/), which keeps the same layout. */
const MIGRATIONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../migrations');
/** Any constant: several processes starting at once apply the migrations one at a time. */
const MIGRATION_LOCK = 727_001;

/**
 * `schema` is where the history table lives: the schema the connection's
 * search_path puts new tables in (see `migrate`). Without it, Sequelize checks
 * for the table in `public` whatever the search_path says.
 */
export function migrator(sequelize: Sequelize, logger: Logger, schema?: string): Umzug<MigrationContext> {
  return new Umzug<MigrationContext>({
    migrations: {
      glob: ['*.{ts,js}', { cwd: MIGRATIONS_DIR, ignore: '*.d.ts' }],
      resolve: ({ name, path: file }) => {
        const load = async () => (await import(pathToFileURL(file!).href)) as MigrationModule;
        return {
          // The name without its extension, so the sources and the build share one history.
          name: name.replace(/\.(ts|js)$/, ''),
          up: async ({ context }) => (await load()).up({ context }),
          down: async ({ context }) => (await load()).down?.({ context }),
        };
      },
    },
    context: { sequelize },
    storage: new SequelizeStorage({ sequelize, tableName: 'schema_migrations', ...(schema ? { schema } : {}) }),
    logger: {
      info: (m) => logger.info(m, 'migration'),
      warn: (m) => logger.warn(m, 'migration'),
      error: (m) => logger.error(m, 'migration'),
      debug: (m) => logger.debug(m, 'migration'),
    },
  });
}

/** Applies pending migrations under an advisory lock held on one connection. */
export async function migrate(sequelize: Sequelize, logger: Logger): Promise<string[]> {
  return sequelize.transaction(async (transaction) => {
    await sequelize.query('SELECT pg_advisory_xact_lock(:lock)', { replacements: { lock: MIGRATION_LOCK }, transaction });
    // Sequelize looks for the history table in `public` unless told a schema, while the
    // migrations create theirs through the search_path (DB_SCHEMA): with a `schema_migrations`
    // of someone else's in `public`, it would skip creating ours and then fail to read it.
    const [row] = await sequelize.query<{ schema: string | null }>('SELECT current_schema() AS schema', { type: QueryTypes.SELECT, transaction });
    const applied = await migrator(sequelize, logger, row?.schema ?? undefined).up();
    return applied.map((m) => m.name);
  });
}
