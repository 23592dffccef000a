import { QueryTypes, type Sequelize } from 'sequelize';
import type { StreamEventType } from '../../../application/ports/event-stream.js';
import type { DeliveryStatus, FailedAttempt, NewEndpoint, WebhookDelivery, WebhookEndpoint, WebhookRepository } from '../../../application/ports/webhooks.js';
import { date, num } from '../database.js';

type Row = Record<string, unknown>;

const ENDPOINT_COLUMNS = 'id, url, secret, event_types, description, configured, cursor, created_at';

const toEndpoint = (r: Row): WebhookEndpoint => ({
  id: num(r.id),
  url: String(r.url),
  secret: String(r.secret),
  eventTypes: r.event_types as StreamEventType[],
  description: String(r.description),
  configured: Boolean(r.configured),
  cursor: num(r.cursor),
  createdAt: date(r.created_at),
});

const toDelivery = (r: Row): WebhookDelivery => ({
  id: num(r.id),
  endpointId: num(r.endpoint_id),
  webhookId: String(r.webhook_id),
  eventId: num(r.event_id),
  eventType: String(r.event_type) as StreamEventType,
  status: String(r.status) as DeliveryStatus,
  attempts: num(r.attempts),
  responseStatus: r.response_status === null ? null : num(r.response_status),
  error: r.error === null ? null : String(r.error),
  firstAttemptAt: date(r.first_attempt_at),
  lastAttemptAt: date(r.last_attempt_at),
});

/** Webhook endpoints and deliveries in PostgreSQL (migration 20261203200100). */
export class PgWebhookRepository implements WebhookRepository {
  constructor(private readonly sequelize: Sequelize) {}

  private select(sql: string, bind: Record<string, unknown> = {}): Promise<Row[]> {
    return this.sequelize.query<Row>(sql, { bind, type: QueryTypes.SELECT });
  }

  async create(e: NewEndpoint, cursor: number, max: number): Promise<WebhookEndpoint | null> {
    // One statement under a transaction-level lock, so two creations at once cannot both pass the cap.
    return this.sequelize.transaction(async (transaction) => {
      await this.sequelize.query('LOCK TABLE webhook_endpoints IN SHARE ROW EXCLUSIVE MODE', { transaction });
      const rows = await this.sequelize.query<Row>(
        `INSERT INTO webhook_endpoints (url, secret, event_types, description, cursor)
         SELECT $url, $secret, $types::text[], $description, $cursor WHERE (SELECT count(*) FROM webhook_endpoints) < $max
         RETURNING ${ENDPOINT_COLUMNS}`,
        { bind: { url: e.url, secret: e.secret, types: e.eventTypes, description: e.description, cursor, max }, type: QueryTypes.SELECT, transaction },
      );
      return rows[0] ? toEndpoint(rows[0]) : null;
    });
  }

  async syncConfigured(e: Omit<NewEndpoint, 'description'> | null, cursor: () => Promise<number>): Promise<void> {
    if (e === null) {
      await this.sequelize.query('DELETE FROM webhook_endpoints WHERE configured');
      return;
    }
    const [existing] = await this.select(`SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE configured`);
    if (existing) {
      await this.sequelize.query('UPDATE webhook_endpoints SET url = $url, secret = $secret, event_types = $types::text[] WHERE configured', {
        bind: { url: e.url, secret: e.secret, types: e.eventTypes },
      });
      return;
    }
    await this.sequelize.query(
      `INSERT INTO webhook_endpoints (url, secret, event_types, description, configured, cursor) VALUES ($url, $secret, $types::text[], 'WEBHOOK_URL', true, $cursor)
       ON CONFLICT (configured) WHERE configured DO NOTHING`,
      { bind: { url: e.url, secret: e.secret, types: e.eventTypes, cursor: await cursor() } },
    );
  }

  async list(): Promise<WebhookEndpoint[]> {
    return (await this.select(`SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints ORDER BY id`)).map(toEndpoint);
  }

  async get(id: number): Promise<WebhookEndpoint | null> {
    const [row] = await this.select(`SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $id`, { id });
    return row ? toEndpoint(row) : null;
  }

  async remove(id: number): Promise<boolean> {
    return (await this.select('DELETE FROM webhook_endpoints WHERE id = $id AND NOT configured RETURNING id', { id })).length > 0;
  }

  async advance(id: number, from: number, to: number): Promise<boolean> {
    // Committed without waiting for the disk: a cursor lost in a crash only delivers again (at least once), and a
    // flush per delivered event would compete with the message writes' own.
    const sql = `WITH settings AS MATERIALIZED (SELECT set_config('synchronous_commit', 'off', true))
      UPDATE webhook_endpoints SET cursor = $to FROM settings WHERE id = $id AND cursor = $from RETURNING id`;
    return (await this.select(sql, { id, from, to })).length > 0;
  }

  async replay(id: number, since: number): Promise<boolean> {
    return this.sequelize.transaction(async (transaction) => {
      const rows = await this.sequelize.query<Row>('UPDATE webhook_endpoints SET cursor = LEAST(cursor, $since) WHERE id = $id RETURNING id', {
        bind: { id, since },
        type: QueryTypes.SELECT,
        transaction,
      });
      if (rows.length === 0) return false;
      await this.sequelize.query(`UPDATE webhook_deliveries SET status = 'replayed' WHERE endpoint_id = $id AND status = 'dead' AND event_id > $since`, {
        bind: { id, since },
        transaction,
      });
      return true;
    });
  }

  async recordFailure(endpointId: number, a: FailedAttempt, status: 'retrying' | 'dead'): Promise<void> {
    await this.sequelize.query(
      `INSERT INTO webhook_deliveries (endpoint_id, webhook_id, event_id, event_type, status, attempts, response_status, error, first_attempt_at, last_attempt_at)
       VALUES ($endpoint, $webhookId, $eventId, $eventType, $status, $attempts, $responseStatus, $error, $first, $at)
       ON CONFLICT (endpoint_id, webhook_id) DO UPDATE SET status = excluded.status, attempts = excluded.attempts,
         response_status = excluded.response_status, error = excluded.error, last_attempt_at = excluded.last_attempt_at,
         first_attempt_at = CASE WHEN webhook_deliveries.status IN ('dead', 'recovered', 'replayed') AND excluded.attempts = 1
           THEN excluded.first_attempt_at ELSE webhook_deliveries.first_attempt_at END`,
      {
        bind: {
          endpoint: endpointId,
          webhookId: a.webhookId,
          eventId: a.eventId,
          eventType: a.eventType,
          status,
          attempts: a.attempts,
          responseStatus: a.responseStatus,
          error: a.error,
          first: a.firstAttemptAt,
          at: a.at,
        },
      },
    );
  }

  async recordRecovery(endpointId: number, webhookId: string, attempts: number, at: Date): Promise<void> {
    await this.sequelize.query(
      `UPDATE webhook_deliveries SET status = 'recovered', attempts = $attempts, response_status = NULL, error = NULL, last_attempt_at = $at
       WHERE endpoint_id = $endpoint AND webhook_id = $webhookId`,
      { bind: { endpoint: endpointId, webhookId, attempts, at } },
    );
  }

  async deliveries(
    endpointId: number,
    page: { readonly status?: DeliveryStatus; readonly before?: number; readonly limit: number },
  ): Promise<WebhookDelivery[]> {
    const rows = await this.select(
      `SELECT * FROM webhook_deliveries WHERE endpoint_id = $endpoint AND ($status::text IS NULL OR status = $status) AND id < $before
       ORDER BY id DESC LIMIT $limit`,
      { endpoint: endpointId, status: page.status ?? null, before: page.before ?? Number.MAX_SAFE_INTEGER, limit: page.limit },
    );
    return rows.map(toDelivery);
  }
}
