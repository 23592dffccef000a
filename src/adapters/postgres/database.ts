import pg from 'pg';
import { ConnectionError, Sequelize, TimeoutError } from 'sequelize';
import { UnavailableError } from '../../application/errors.js';
import { GuardedClient, isUnavailable as isConnectionFailure } from './pool.js';
import type { Logger } from '../../application/ports/services.js';

export interface DatabaseOptions {
  /** postgres://user:password@host:port/database */
  readonly url: string;
  /** Schema to use through search_path (created by the migrations' runner if missing). @default undefined (public) */
  readonly schema?: string;
  /** Pool size. @default 10 */
  readonly poolMax?: number;
  readonly logger: Logger;
}

/** Sequelize adds its error listener only once a connection is up: give it guarded clients. */
const guardedPg = Object.assign(Object.create(pg) as typeof pg, { Client: GuardedClient });

export function createSequelize(options: DatabaseOptions): Sequelize {
  const log = options.logger.child({ component: 'sequelize' });
  const sequelize = new Sequelize(options.url, {
    dialect: 'postgres',
    dialectModule: guardedPg,
    logging: (sql) => log.debug({ sql }, 'query'),
    pool: { max: options.poolMax ?? 10, min: 0, idle: 10_000, acquire: 10_000 },
    dialectOptions: {
      ...(options.schema ? { options: `-c search_path=${options.schema}` } : {}),
      // Fail fast instead of queueing forever when the server is unreachable.
      connectionTimeoutMillis: 5_000,
      application_name: 'chat-backend',
    },
    retry: { max: 0 },
  });
  // Every query goes through here: a lost or refused connection becomes the
  // application's UnavailableError, so no other ring needs to know the ORM's errors.
  for (const method of ['query', 'transaction'] as const) {
    const original = (sequelize[method] as (...args: unknown[]) => Promise<unknown>).bind(sequelize);
    (sequelize as unknown as Record<string, unknown>)[method] = (...args: unknown[]) =>
      original(...args).catch((error: unknown) => {
        throw isUnavailable(error) ? new UnavailableError('The database is unavailable', { cause: error }) : error;
      });
  }
  return sequelize;
}

const isUnavailable = (error: unknown): boolean => error instanceof ConnectionError || error instanceof TimeoutError || isConnectionFailure(error);

/** Creates the configured schema, which search_path alone does not do. */
export async function ensureSchema(sequelize: Sequelize, schema: string | undefined): Promise<void> {
  if (schema) await sequelize.query(`CREATE SCHEMA IF NOT EXISTS "${schema.replace(/"/g, '""')}"`);
}

export const num = (v: unknown): number => Number(v);
export const date = (v: unknown): Date => (v instanceof Date ? v : new Date(String(v)));
export const dateOrNull = (v: unknown): Date | null => (v === null || v === undefined ? null : date(v));
