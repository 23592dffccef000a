import type pg from 'pg';
import type { Logger } from '../application/ports/services.js';
import type { Broker } from '../adapters/fanout/engine/broker.js';
import { PgBroker } from '../adapters/fanout/postgres/pg-broker.js';
import type { Config } from './config.js';

/** What a broker may be built from. */
export interface BrokerContext {
  readonly config: Config;
  readonly logger: Logger;
  readonly nodeId: string;
  readonly databaseUrl: string;
  readonly pool: pg.Pool;
}

/**
 * The one place a broker is chosen: FANOUT names a row. A new broker is its
 * folder under src/adapters/fanout/ and one row here (plus its own settings
 * in config.ts, if it has any). Each is loaded only when chosen, so a process
 * never loads a client library it does not use.
 */
export const BROKERS = {
  postgres: async (c: BrokerContext): Promise<Broker> => new PgBroker(c.pool, databaseListener(c)),
  nats: async (c: BrokerContext): Promise<Broker> =>
    new (await import('../adapters/fanout/nats/nats-broker.js')).NatsBroker({ url: c.config.NATS_URL!, prefix: c.config.FANOUT_PREFIX, logger: c.logger }),
  redis: async (c: BrokerContext): Promise<Broker> =>
    new (await import('../adapters/fanout/redis/redis-broker.js')).RedisBroker({ url: c.config.REDIS_URL!, prefix: c.config.FANOUT_PREFIX, logger: c.logger }),
  local: async (): Promise<Broker> => new (await import('../adapters/fanout/local/local-broker.js')).LocalBroker(),
} as const;

/**
 * Access changes made in the database outside the server (the users table's
 * trigger) arrive on NOTIFY_CHANNEL whatever the broker: with NATS or Redis,
 * this LISTEN carries only those; with PostgreSQL it is the broker itself.
 */
export function databaseNotices(c: BrokerContext): Broker | null {
  return c.config.FANOUT === 'nats' || c.config.FANOUT === 'redis' ? new PgBroker(c.pool, databaseListener(c)) : null;
}

const databaseListener = (c: BrokerContext) => ({
  url: c.databaseUrl,
  ...(c.config.DB_SCHEMA ? { schema: c.config.DB_SCHEMA } : {}),
  channel: c.config.NOTIFY_CHANNEL,
  nodeId: c.nodeId,
  logger: c.logger,
});
