import type { Sequelize } from 'sequelize';
import { OfflineNotifier } from '../application/offline-notifier.js';
import type { PresenceStore } from '../application/ports/presence-store.js';
import type { Logger } from '../application/ports/services.js';
import type { Telemetry } from '../application/ports/telemetry.js';
import { createPgPool } from '../adapters/postgres/pool.js';
import { PgPushStore } from '../adapters/postgres/push/pg-push-store.js';
import { PgStreamConsumer } from '../adapters/postgres/push/pg-stream-consumer.js';
import { PgEventStream } from '../adapters/postgres/repositories/pg-event-stream.js';
import { WebPushSender, type GuardedPost } from '../adapters/push/web-push-sender.js';
import type { Config } from './config.js';
import type { VapidKeys } from './vapid-keys.js';

export interface OfflineNotices {
  /** Begins competing for the lead; the process that holds it follows the stream. */
  start(): void;
  close(): Promise<void>;
}

export interface OfflineNoticesContext {
  readonly config: Config;
  readonly databaseUrl: string;
  readonly sequelize: Sequelize;
  readonly presence: PresenceStore;
  readonly vapid: VapidKeys;
  readonly post: GuardedPost;
  readonly logger: Logger;
  readonly telemetry: Telemetry;
}

/** The offline notifier (message.unread notices and Web Push), following the stream in one process of the cluster. */
export function offlineNotices(c: OfflineNoticesContext): OfflineNotices {
  const logger = c.logger.child({ component: 'push' });
  // A pool of its own: pushes' look-ups never wait behind, nor hold up, the write path's connections.
  const pool = createPgPool({ url: c.databaseUrl, schema: c.config.DB_SCHEMA, max: 4, applicationName: 'chat-backend-push' });
  const notifier = new OfflineNotifier(
    {
      store: new PgPushStore(pool),
      presence: c.presence,
      sender: new WebPushSender({ vapid: c.vapid, post: c.post, timeoutMs: c.config.PUSH_TIMEOUT_MS }),
      logger,
      telemetry: c.telemetry,
    },
    { coalesceMs: c.config.PUSH_COALESCE_MS, includeContent: c.config.PUSH_INCLUDE_CONTENT, concurrency: c.config.PUSH_CONCURRENCY },
  );
  const consumer = new PgStreamConsumer({
    name: 'push',
    databaseUrl: c.databaseUrl,
    schema: c.config.DB_SCHEMA,
    stream: new PgEventStream(c.sequelize),
    types: ['message.created'],
    handle: (events, next, ledger) => notifier.handle(events, next, ledger),
    logger,
  });
  return {
    start: () => consumer.start(),
    close: async () => {
      await consumer.close();
      await notifier.close();
      await pool.end().catch(() => undefined);
    },
  };
}
