import { ConfigError, loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { startEmbeddedPostgres } from '../adapters/postgres/embedded/embedded-postgres-server.js';
import { createSequelize, ensureSchema } from '../adapters/postgres/database.js';
import { migrate } from '../adapters/postgres/migrator.js';

/** `npm run migrate`: applies pending migrations to the configured (or embedded) database. */
async function run(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.LOG_LEVEL, config.NODE_ENV === 'development' && process.stdout.isTTY);
  const embedded = config.databaseUrl ? null : await startEmbeddedPostgres({ dataDir: config.dataDir, port: config.EMBEDDED_DB_PORT, logger });
  const sequelize = createSequelize({ url: config.databaseUrl ?? embedded!.url, schema: config.DB_SCHEMA, poolMax: 2, logger });
  try {
    await ensureSchema(sequelize, config.DB_SCHEMA);
    const applied = await migrate(sequelize, logger);
    logger.info({ applied }, applied.length ? 'migrations applied' : 'schema up to date');
  } finally {
    await sequelize.close();
    await embedded?.stop();
  }
}

run().catch((error: unknown) => {
  process.stderr.write(`${error instanceof ConfigError ? error.message : String((error as Error)?.stack ?? error)}\n`);
  process.exit(1);
});
