import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Sequelize } from 'sequelize';
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

export function migrator(sequelize: Sequelize, logger: Logger): Umzug<MigrationContext> {
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
    storage: new SequelizeStorage({ sequelize, tableName: 'schema_migrations' }),
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
    const applied = await migrator(sequelize, logger).up();
    return applied.map((m) => m.name);
  });
}
