import { parseArgs } from 'node:util';
import pg from 'pg';
import { startEmbeddedPostgres } from '../adapters/postgres/embedded/embedded-postgres-server.js';
import { connectionFailure, whereOf } from '../adapters/legacy-import/connection-failure.js';
import {
  CANDIDATES,
  ImportConflictError,
  importLegacy,
  logReport,
  OriginalSchemaError,
  summarise,
  type OriginalTable,
} from '../adapters/legacy-import/legacy-importer.js';
import { createSequelize, ensureSchema } from '../adapters/postgres/database.js';
import { migrate } from '../adapters/postgres/migrator.js';
import { ConfigError, loadConfig } from './config.js';
import { createLogger } from './logger.js';

/** The options naming the original's tables, and the table each names. */
const TABLE_OPTIONS: ReadonlyArray<readonly [string, OriginalTable]> = [
  ['users-table', 'users'],
  ['conversations-table', 'conversations'],
  ['participants-table', 'conversation_participants'],
  ['messages-table', 'messages'],
];

const USAGE = `Usage: npm run import:legacy -- <DATABASE_URL of the original> [options]

Copies the original backend's users, conversations, participants and messages
into this server's database: the configured one (DATABASE_URL or DB_*, with
DB_SCHEMA), or --to. Safe to run again: it copies what is missing, nothing twice.

  --to <url>             this server's database instead of the configured one
  --to-schema <name>     its schema instead of DB_SCHEMA
  --from-schema <name>   the schema of the original's tables (default: public)
  --batch-size <n>       rows per batch and transaction (default: 1000)
${TABLE_OPTIONS.map(([option, table]) => `  --${option} <name>\n${' '.repeat(25)}the original's ${table} table (default: ${CANDIDATES[table].join(', else ')})`).join('\n')}

The report goes to the log (JSON lines on stdout) and, readable, to stderr.
`;

const identifier = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

class UsageError extends Error {}
/** A failure the message says all about: printed as one line, no stack. */
class ExpectedError extends Error {}

/** `npm run import:legacy`: see USAGE and docs/MIGRATING.md. */
async function run(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      to: { type: 'string' },
      'to-schema': { type: 'string' },
      'from-schema': { type: 'string', default: 'public' },
      'batch-size': { type: 'string', default: '1000' },
      ...Object.fromEntries(TABLE_OPTIONS.map(([option]) => [option, { type: 'string' as const }])),
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
  const sourceTables: Partial<Record<OriginalTable, string>> = {};
  for (const [option, table] of TABLE_OPTIONS) {
    const name = (values as Record<string, unknown>)[option];
    if (name === undefined) continue;
    if (typeof name !== 'string' || !identifier.test(name)) throw new UsageError(`--${option} must be a plain identifier`);
    sourceTables[table] = name;
  }
  const config = loadConfig();
  const schema = values['to-schema'] ?? config.DB_SCHEMA;
  if (schema !== undefined && !identifier.test(schema)) throw new UsageError('--to-schema must be a plain identifier');

  const logger = createLogger(config.LOG_LEVEL, config.NODE_ENV === 'development' && process.stdout.isTTY);
  const source = client(sourceUrl, 'the original database', 'chat-legacy-import-source');
  let target: pg.Client | null = null;
  let embedded: Awaited<ReturnType<typeof startEmbeddedPostgres>> | null = null;
  try {
    // The original first: a wrong one stops the run before anything here is started or touched.
    await connect(source, 'the original database');
    const configured = values.to ?? config.databaseUrl;
    embedded = configured ? null : await startEmbeddedPostgres({ dataDir: config.dataDir, port: config.EMBEDDED_DB_PORT, logger });
    const targetUrl = configured ?? embedded!.url;
    target = client(targetUrl, 'this server’s database', 'chat-legacy-import', schema);
    await connect(target, 'this server’s database');
    // This server's schema, the map table included.
    const sequelize = createSequelize({ url: targetUrl, schema, poolMax: 2, logger });
    try {
      await ensureSchema(sequelize, schema);
      await migrate(sequelize, logger);
    } finally {
      await sequelize.close();
    }
    const report = await importLegacy({ source, sourceSchema: fromSchema, sourceTables, target, batchSize, logger }).catch((error: unknown) => {
      if (error instanceof OriginalSchemaError) {
        const hint = TABLE_OPTIONS.map(([option]) => `--${option}`).join(', ');
        throw new ExpectedError(`${error.message} (in ${whereOf(source)}, schema ${fromSchema}; other table names: ${hint})`);
      }
      throw error;
    });
    logReport(report, logger);
    process.stderr.write(summarise(report));
  } finally {
    await source.end().catch(() => undefined);
    await target?.end().catch(() => undefined);
    await embedded?.stop();
  }
}

/** A client that gives up connecting after a while, so a host that drops packets does not hang the run. */
function client(url: string, what: string, applicationName: string, schema?: string): pg.Client {
  try {
    return new pg.Client({
      connectionString: url,
      application_name: applicationName,
      connectionTimeoutMillis: 15_000,
      ...(schema ? { options: `-c search_path=${schema}` } : {}),
    });
  } catch {
    throw new UsageError(`not a database URL that can be read: that of ${what}`);
  }
}

async function connect(c: pg.Client, what: string): Promise<void> {
  await c.connect().catch((error: unknown) => {
    throw new ExpectedError(connectionFailure(what, c, error, c.password ?? undefined));
  });
}

run().catch((error: unknown) => {
  const expected =
    error instanceof ConfigError || error instanceof ImportConflictError || error instanceof OriginalSchemaError || error instanceof ExpectedError;
  if (error instanceof UsageError) process.stderr.write(`${error.message}\n\n${USAGE}`);
  else process.stderr.write(`${expected ? (error as Error).message : String((error as Error)?.stack ?? error)}\n`);
  process.exit(error instanceof UsageError ? 64 : 1);
});
