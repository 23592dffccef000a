import { parseArgs } from 'node:util';
import pg from 'pg';
import { startEmbeddedPostgres } from '../adapters/embedded/embedded-postgres-server.js';
import { ImportConflictError, importLegacy, OriginalSchemaError } from '../adapters/legacy-import/legacy-importer.js';
import { createSequelize, ensureSchema } from '../adapters/sequelize/database.js';
import { migrate } from '../adapters/sequelize/migrator.js';
import { ConfigError, loadConfig } from './config.js';
import { createLogger } from './logger.js';

const USAGE = `Usage: npm run import:legacy -- <DATABASE_URL of the original> [options]

Copies the original backend's users, conversations, participants and messages
into this server's database: the configured one (DATABASE_URL or DB_*, with
DB_SCHEMA), or --to. Safe to run again: it copies what is missing, nothing twice.

  --to <url>             this server's database instead of the configured one
  --to-schema <name>     its schema instead of DB_SCHEMA
  --from-schema <name>   the schema of the original's tables (default: public)
  --batch-size <n>       rows per batch and transaction (default: 1000)
`;

const identifier = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

class UsageError extends Error {}

/** `npm run import:legacy`: see USAGE and docs/MIGRATING.md. */
async function run(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      to: { type: 'string' },
      'to-schema': { type: 'string' },
      'from-schema': { type: 'string', default: 'public' },
      'batch-size': { type: 'string', default: '1000' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return void process.stdout.write(USAGE);
  const sourceUrl = positionals[0];
  if (positionals.length !== 1 || !sourceUrl || !/^postgres(ql)?:\/\//.test(sourceUrl))
    throw new UsageError('one postgres:// URL of the original database is required');
  const batchSize = Number(values['batch-size']);
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) throw new UsageError('--batch-size must be an integer from 1 to 10000');
  const fromSchema = values['from-schema'];
  if (!identifier.test(fromSchema)) throw new UsageError('--from-schema must be a plain identifier');
  const config = loadConfig();
  const schema = values['to-schema'] ?? config.DB_SCHEMA;
  if (schema !== undefined && !identifier.test(schema)) throw new UsageError('--to-schema must be a plain identifier');

  const logger = createLogger(config.LOG_LEVEL, config.NODE_ENV === 'development' && process.stdout.isTTY);
  const configured = values.to ?? config.databaseUrl;
  const embedded = configured ? null : await startEmbeddedPostgres({ dataDir: config.dataDir, port: config.EMBEDDED_DB_PORT, logger });
  const targetUrl = configured ?? embedded!.url;
  const source = new pg.Client({ connectionString: sourceUrl, application_name: 'chat-legacy-import-source' });
  const target = new pg.Client({
    connectionString: targetUrl,
    application_name: 'chat-legacy-import',
    ...(schema ? { options: `-c search_path=${schema}` } : {}),
  });
  try {
    // This server's schema first, the map table included.
    const sequelize = createSequelize({ url: targetUrl, schema, poolMax: 2, logger });
    try {
      await ensureSchema(sequelize, schema);
      await migrate(sequelize, logger);
    } finally {
      await sequelize.close();
    }
    await source.connect();
    await target.connect();
    const report = await importLegacy({ source, sourceSchema: fromSchema, target, batchSize, logger });
    logger.info({ report }, 'import complete');
  } finally {
    await source.end().catch(() => undefined);
    await target.end().catch(() => undefined);
    await embedded?.stop();
  }
}

run().catch((error: unknown) => {
  const expected = error instanceof ConfigError || error instanceof ImportConflictError || error instanceof OriginalSchemaError;
  if (error instanceof UsageError) process.stderr.write(`${error.message}\n\n${USAGE}`);
  else process.stderr.write(`${expected ? (error as Error).message : String((error as Error)?.stack ?? error)}\n`);
  process.exit(error instanceof UsageError ? 64 : 1);
});
