import pg from 'pg';
import { UnavailableError } from '../../application/errors.js';

/**
 * pg with an error listener on every client from birth: when the server shuts
 * down just as a connection completes, the FATAL arrives before any pool or
 * ORM has attached its own, and an 'error' event with no listener would crash
 * the process.
 */
export class GuardedClient extends pg.Client {
  constructor(config?: string | pg.ClientConfig) {
    super(config);
    this.on('error', () => undefined);
  }
}

export interface PgPoolOptions {
  readonly url: string;
  /** Schema to use through search_path. */
  readonly schema?: string;
  /** @default 4 */
  readonly max?: number;
  readonly applicationName: string;
}

/** A pg pool for hot paths that bypass the ORM; connection failures surface as UnavailableError. */
export function createPgPool(options: PgPoolOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.max ?? 4,
    idleTimeoutMillis: 10_000,
    connectionTimeoutMillis: 5_000,
    application_name: options.applicationName,
    ...(options.schema ? { options: `-c search_path=${options.schema}` } : {}),
    Client: GuardedClient,
  });
  pool.on('error', () => undefined); // an idle client's error; the pool drops that client
  return pool;
}

/** Connection-level failures: SQLSTATE class 08, shutdowns (57P01-57P03), refused, reset or timed-out sockets. */
export function isUnavailable(error: unknown): boolean {
  if (error instanceof UnavailableError) return true;
  const e = error as { parent?: { code?: string }; code?: string; message?: string } | null;
  const code = e?.parent?.code ?? e?.code;
  if (typeof code === 'string' && (code.startsWith('08') || /^57P0[123]$/.test(code) || ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT'].includes(code)))
    return true;
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/.test(e?.message ?? '');
}

/** Rethrows connection-level failures as the application's UnavailableError. */
export const asUnavailable = (error: unknown): unknown =>
  isUnavailable(error) && !(error instanceof UnavailableError) ? new UnavailableError('The database is unavailable', { cause: error }) : error;
