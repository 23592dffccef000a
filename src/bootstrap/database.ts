import type pg from 'pg';
import type { Sequelize } from 'sequelize';
import type { Logger } from '../application/ports/services.js';
import { createSequelize, ensureSchema } from '../adapters/postgres/database.js';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from '../adapters/postgres/embedded/embedded-postgres-server.js';
import { migrate } from '../adapters/postgres/migrator.js';
import { acceptsWrites, createPgPool } from '../adapters/postgres/pool.js';
import { ensureLanes, laneCursors } from '../adapters/postgres/write-path/write-lanes.js';
import type { Config } from './config.js';

export interface OpenDatabase {
  readonly url: string;
  readonly sequelize: Sequelize;
  readonly embedded: EmbeddedPostgresHandle | null;
  /** Closes the ORM's pool and stops the embedded server (if any). */
  close(): Promise<void>;
}

/**
 * The one way every entry point opens the database: the embedded server when
 * no URL is configured, the ORM, the schema, and the migrations when asked
 * (the server with MIGRATE_ON_START, the supervisor once for its workers,
 * `npm run migrate`, the importer).
 */
export async function openDatabase(
  config: Config,
  logger: Logger,
  o: { readonly migrate: boolean; readonly poolMax?: number; readonly url?: string; readonly schema?: string | undefined },
): Promise<OpenDatabase> {
  let embedded: EmbeddedPostgresHandle | null = null;
  let url = o.url ?? config.databaseUrl;
  if (!url) {
    embedded = await startEmbeddedPostgres({ dataDir: config.dataDir, port: config.EMBEDDED_DB_PORT, logger });
    url = embedded.url;
  }
  const schema = 'schema' in o ? o.schema : config.DB_SCHEMA;
  const sequelize = createSequelize({ url, schema, poolMax: o.poolMax ?? config.DB_POOL_MAX, logger });
  const close = async () => {
    await sequelize.close().catch(() => undefined);
    await embedded?.stop().catch(() => undefined);
  };
  try {
    await sequelize.authenticate();
    await ensureSchema(sequelize, schema);
    if (o.migrate) {
      const applied = await migrate(sequelize, logger);
      logger.info({ applied }, applied.length ? 'migrations applied' : 'schema up to date');
    }
  } catch (error) {
    await close();
    throw error;
  }
  return { url, sequelize, embedded, close };
}

/** What the server adds: the hot paths' pool, the write lanes and the channel the database announces on. */
export interface ServerDatabase extends OpenDatabase {
  readonly pool: pg.Pool;
  readonly lanes: number;
  /** The highest id committed in each lane. */
  lanePositions(): Promise<number[]>;
  /** `up`, `down` or `refusing-writes`, for readiness. */
  check(): Promise<'up' | 'down' | 'refusing-writes'>;
}

export async function openServerDatabase(config: Config, logger: Logger): Promise<ServerDatabase> {
  const db = await openDatabase(config, logger, { migrate: config.MIGRATE_ON_START });
  // Each lane holds at most one connection for its batch in flight; presence, fan-out and profile loads use a few more.
  // Unset, WRITE_LANES is the database's count, not known yet: room for four lanes.
  const pool = createPgPool({ url: db.url, schema: config.DB_SCHEMA, max: (config.WRITE_LANES ?? 4) + 4, applicationName: 'chat-backend-write' });
  const close = async () => {
    await pool.end().catch(() => undefined);
    await db.close();
  };
  try {
    // The users table's trigger announces access changes made outside the server on this channel (none when local).
    const channel = config.FANOUT === 'local' ? null : config.NOTIFY_CHANNEL;
    await pool.query('INSERT INTO fanout_settings (singleton, channel) VALUES (true, $1) ON CONFLICT (singleton) DO UPDATE SET channel = excluded.channel', [
      channel,
    ]);
    const lanes = await ensureLanes(pool, config.WRITE_LANES, async () => {
      const { rows } = await pool.query<{ n: string }>('SELECT count(*) AS n FROM server_nodes WHERE lease_expires_at > now()');
      return Number(rows[0]!.n);
    });
    return { ...db, pool, lanes, lanePositions: () => laneCursors(pool), check: databaseCheck(db.sequelize, pool), close };
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * The database as readiness sees it: both pools reach it, and it takes a write
 * (a read-only or full database still answers `SELECT 1`). The write probe runs
 * at most once a second; checks in between share its outcome, so a public
 * /readyz never costs a write per request.
 */
function databaseCheck(sequelize: Sequelize, pool: pg.Pool): () => Promise<'up' | 'down' | 'refusing-writes'> {
  let probe: { at: number; outcome: Promise<boolean> } | null = null;
  return async () => {
    if (!probe || Date.now() - probe.at >= 1_000) probe = { at: Date.now(), outcome: acceptsWrites(pool) };
    const [reachable, writable] = await Promise.all([
      sequelize.query('SELECT 1').then(
        () => true,
        () => false,
      ),
      probe.outcome,
    ]);
    return !reachable ? 'down' : writable ? 'up' : 'refusing-writes';
  };
}
