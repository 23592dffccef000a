import { STREAM_EVENT_TYPES } from '../application/ports/event-stream.js';
import type { Logger } from '../application/ports/services.js';
import type { Telemetry } from '../application/ports/telemetry.js';
import { ManageWebhooks } from '../application/webhooks/manage-webhooks.js';
import { WebhookDispatcher } from '../application/webhooks/webhook-dispatcher.js';
import { StandardWebhookPolicy, StandardWebhookSender } from '../adapters/outbound/standard-webhook-sender.js';
import { PgLeadership } from '../adapters/postgres/pg-leadership.js';
import { PgEventStream } from '../adapters/postgres/repositories/pg-event-stream.js';
import { PgWebhookRepository } from '../adapters/postgres/repositories/pg-webhook-repository.js';
import { SystemClock } from '../adapters/system-clock.js';
import type { Config } from './config.js';
import type { ServerDatabase } from './database.js';

/** The session advisory lock only the dispatching process holds (beside the other 727_00x keys). */
const WEBHOOK_LEADER_LOCK = 727_010;

export interface Webhooks {
  /** Staff's management of endpoints, for the gateway's routes. */
  readonly manage: ManageWebhooks;
  /** Stops delivering (an attempt in flight is abandoned and redone by the next leader). */
  close(): Promise<void>;
}

/**
 * Webhooks: staff's routes in every process, and the dispatcher in the one
 * process that holds the lock. The endpoint of WEBHOOK_URL is brought in step
 * with the configuration first (created at the stream's horizon: from now).
 */
export async function startWebhooks(config: Config, db: ServerDatabase, telemetry: Telemetry, logger: Logger): Promise<Webhooks> {
  const repository = new PgWebhookRepository(db.sequelize);
  const stream = new PgEventStream(db.sequelize);
  await repository.syncConfigured(
    config.WEBHOOK_URL && config.WEBHOOK_SECRET ? { url: config.WEBHOOK_URL, secret: config.WEBHOOK_SECRET, eventTypes: STREAM_EVENT_TYPES } : null,
    () => stream.horizon(),
  );
  const policy = new StandardWebhookPolicy(config.OUTBOUND_ALLOW_PRIVATE);
  const manage = new ManageWebhooks(repository, stream, policy, { maxEndpoints: config.WEBHOOK_MAX_ENDPOINTS });
  const dispatcher = new WebhookDispatcher(
    stream,
    repository,
    new StandardWebhookSender({ timeoutMs: config.WEBHOOK_TIMEOUT_MS, allowPrivate: config.OUTBOUND_ALLOW_PRIVATE }),
    new PgLeadership({ url: db.url, key: WEBHOOK_LEADER_LOCK, logger, applicationName: 'chat-backend-webhooks' }),
    new SystemClock(),
    telemetry,
    logger.child({ part: 'webhooks' }),
    {
      pollMs: config.WEBHOOK_POLL_MS,
      concurrency: config.WEBHOOK_CONCURRENCY,
      retryBaseMs: config.WEBHOOK_RETRY_BASE_MS,
      retryMaxMs: config.WEBHOOK_RETRY_MAX_MS,
      retryForMs: config.WEBHOOK_RETRY_HOURS * 3_600_000,
    },
  );
  dispatcher.start();
  return { manage, close: () => dispatcher.close() };
}
