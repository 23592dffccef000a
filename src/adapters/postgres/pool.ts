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

/** The pool's clients: a query's refusal that a retry may cure surfaces as UnavailableError (promise form; a callback gets pg's error). */
class ClassifyingClient extends GuardedClient {}
ClassifyingClient.prototype.query = classifying(GuardedClient.prototype.query);

/** Wraps a pg method so its promise rejects with asUnavailable(error); other returns pass through. */
function classifying<F extends (...args: never[]) => unknown>(method: F): F {
  return function (this: unknown, ...args: Parameters<F>) {
    const result = method.apply(this, args);
    return result instanceof Promise ? result.catch(rethrowClassified) : result;
  } as F;
}

const rethrowClassified = (error: unknown): never => {
  throw asUnavailable(error);
};

/**
 * A pg pool for hot paths that bypass the ORM. Every adapter using it gets one
 * classification of PostgreSQL's errors: whatever isUnavailable() recognises
 * (from pool.query, pool.connect and a pooled client's query) is an UnavailableError.
 */
export function createPgPool(options: PgPoolOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.max ?? 4,
    idleTimeoutMillis: 10_000,
    connectionTimeoutMillis: 5_000,
    application_name: options.applicationName,
    ...(options.schema ? { options: `-c search_path=${options.schema}` } : {}),
    Client: ClassifyingClient,
  });
  pool.on('error', () => undefined); // an idle client's error; the pool drops that client
  pool.query = classifying(pool.query);
  pool.connect = classifying(pool.connect);
  return pool;
}

/**
 * The one classification of PostgreSQL's errors, for every adapter: failures
 * that say nothing about the request and that a retry may cure, answered as
 * SERVICE_UNAVAILABLE (503). Connection-level failures: SQLSTATE class 08,
 * shutdowns (57P01-57P03), refused, reset or timed-out sockets. And writes the
 * database refuses for its own state: insufficient resources (class 53: disk
 * full, out of memory, too many connections) and a read-only database (25006:
 * default_transaction_read_only, a standby).
 */
export function isUnavailable(error: unknown): boolean {
  if (error instanceof UnavailableError) return true;
  const e = error as { parent?: { code?: string }; code?: string; message?: string } | null;
  const code = e?.parent?.code ?? e?.code;
  if (
    typeof code === 'string' &&
    (code.startsWith('08') ||
      code.startsWith('53') ||
      code === '25006' ||
      /^57P0[123]$/.test(code) ||
      ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT'].includes(code))
  )
    return true;
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/.test(e?.message ?? '');
}

/** Rethrows connection-level failures as the application's UnavailableError. */
export const asUnavailable = (error: unknown): unknown =>
  isUnavailable(error) && !(error instanceof UnavailableError) ? new UnavailableError('The database is unavailable', { cause: error }) : error;

/**
 * Whether the database takes a write now: the one fan-out settings row updated
 * to itself, committed. A read-only database (25006), a full disk (class 53)
 * or a lost connection refuses it, where `SELECT 1` would still pass.
 */
export async function acceptsWrites(pool: pg.Pool): Promise<boolean> {
  try {
    await pool.query('UPDATE fanout_settings SET channel = channel WHERE singleton');
    return true;
  } catch {
    return false;
  }
}
