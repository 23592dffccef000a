import type pg from 'pg';
import pgListen, { type Subscriber } from 'pg-listen';
import type { Logger } from '../../../application/ports/services.js';
import { byteLength, MAX_NOTIFY_BYTES } from '../engine/notification-codec.js';
import { TOPIC_ALL, type Broker, type BrokerInbound, type BrokerState } from '../engine/broker.js';

/** pg-listen is CommonJS with its factory on `default`. */
const createSubscriber = pgListen.default;

export interface PgBrokerOptions {
  /** Database URL for the dedicated LISTEN connection (not from the pool). */
  readonly url: string;
  readonly schema?: string;
  readonly channel: string;
  /** This process's name in parked payloads' notifications. */
  readonly nodeId: string;
  /** First reconnect delay in ms; doubles up to `maxRetryMs`, with jitter. @default 250 */
  readonly retryMs?: number;
  /** @default 10000 */
  readonly maxRetryMs?: number;
  /** How often the LISTEN connection is probed. @default 5000 */
  readonly probeMs?: number;
  readonly logger: Logger;
}

/** Many notifications go out in one statement, up to this many bytes. */
const BATCH_BYTES = 512 * 1024;
const PARKED = '{"t":"ref","n":';

/**
 * PostgreSQL LISTEN/NOTIFY as a broker: one channel, every process receives
 * everything (`broadcast`), in commit order, and new messages are announced by
 * the statement that stores them. Payloads too large for a NOTIFY are parked in
 * `notification_payloads` and announced by id; the receiver reads them back
 * in place, holding what follows, so the order stays the order sent.
 * Publishes made in the same tick go out in one statement.
 */
export class PgBroker implements Broker {
  readonly name = 'postgres';
  readonly routing = 'broadcast';
  readonly announcedByWrites = true;
  private readonly subscriber: Subscriber;
  private readonly log: Logger;
  private inbound: BrokerInbound | null = null;
  private status: BrokerState;
  private cleanupTimer: NodeJS.Timeout | null = null;
  /** Inbound payloads wait here while a parked one is read. */
  private reading: Promise<void> | null = null;
  private readonly backlog: string[] = [];
  /** Outbound payloads waiting: those gathered while a statement runs go out together in the next. */
  private outbox: Array<{ payload: string; done: () => void }> = [];
  /** The loop sending the outbox, while it runs. */
  private sending: Promise<void> | null = null;

  constructor(
    private readonly pool: pg.Pool,
    private readonly options: PgBrokerOptions,
  ) {
    this.log = options.logger.child({ component: 'fanout', broker: 'postgres' });
    this.status = { broker: 'postgres', state: 'connecting', since: new Date().toISOString(), outages: 0 };
    const base = options.retryMs ?? 250;
    const cap = options.maxRetryMs ?? 10_000;
    this.subscriber = createSubscriber(
      {
        connectionString: options.url,
        application_name: 'chat-backend-listen',
        ...(options.schema ? { options: `-c search_path=${options.schema}` } : {}),
      },
      {
        parse: (raw: string) => raw,
        paranoidChecking: options.probeMs ?? 5_000,
        retryLimit: Number.POSITIVE_INFINITY,
        retryTimeout: 0, // never give up
        retryInterval: (attempt: number) => Math.min(cap, base * 2 ** attempt) * (0.5 + Math.random() / 2),
      },
    );
    this.subscriber.notifications.on(options.channel, (raw: unknown) => this.receive(typeof raw === 'string' ? raw : String(raw)));
    this.subscriber.events.on('reconnect', (attempt: number) => this.onReconnecting(attempt));
    this.subscriber.events.on('connected', () => this.onConnected());
    this.subscriber.events.on('error', (error: Error) => this.log.error({ err: error }, 'LISTEN connection error'));
  }

  get state(): BrokerState {
    return this.status;
  }

  /** The database is the one dependency the server cannot run without, so the first LISTEN is awaited. */
  async start(inbound: BrokerInbound): Promise<void> {
    this.inbound = inbound;
    await this.subscriber.connect();
    await this.subscriber.listenTo(this.options.channel);
    this.setState('up');
    // Parked payloads are read within moments of their notification; ten minutes is generous.
    this.cleanupTimer = setInterval(() => {
      this.pool
        .query("DELETE FROM notification_payloads WHERE created_at < now() - interval '10 minutes'")
        .catch((error: unknown) => this.log.warn({ err: error }, 'could not clean parked fan-out payloads'));
    }, 60_000);
    this.cleanupTimer.unref();
    inbound.up();
  }

  /** Every process receives everything: nothing to subscribe to. */
  async subscribe(): Promise<void> {}
  async unsubscribe(): Promise<void> {}

  publish(_topic: string, payload: string): Promise<void> {
    return new Promise((resolve) => {
      this.outbox.push({ payload, done: resolve });
      this.sending ??= this.sendOutbox();
    });
  }

  async close(): Promise<void> {
    if (this.cleanupTimer) clearInterval(this.cleanupTimer);
    this.setState('closed');
    await this.sending;
    await this.subscriber.close().catch(() => undefined);
    await this.reading;
  }

  /** Sends the outbox until it is empty, in order (one loop at a time, started by the first publish). */
  private async sendOutbox(): Promise<void> {
    // Publishes of the same tick join the first statement.
    await Promise.resolve();
    while (this.outbox.length > 0) {
      const taken = this.outbox;
      this.outbox = [];
      await this.send(taken);
    }
    this.sending = null;
  }

  /** Payloads in order: those that fit many to a statement, a parked one on its own between them. */
  private async send(taken: ReadonlyArray<{ payload: string; done: () => void }>): Promise<void> {
    {
      let batch: string[] = [];
      let bytes = 0;
      const send = async () => {
        if (batch.length === 0) return;
        const sending = batch;
        batch = [];
        bytes = 0;
        await this.query('SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p', [this.options.channel, sending], sending.length);
      };
      for (const { payload } of taken) {
        const size = byteLength(payload);
        if (size > MAX_NOTIFY_BYTES) {
          await send();
          await this.query(
            `WITH p AS (INSERT INTO notification_payloads (payload) VALUES ($2) RETURNING id)
             SELECT pg_notify($1, $3::text || p.id || '}') FROM p`,
            [this.options.channel, payload, `${PARKED}${JSON.stringify(this.options.nodeId)},"r":`],
            1,
          );
          continue;
        }
        if (bytes + size > BATCH_BYTES) await send();
        batch.push(payload);
        bytes += size;
      }
      await send();
      for (const t of taken) t.done();
    }
  }

  /** Never rejects: an event that could not be announced is logged (the database is then down: every process resyncs). */
  private async query(text: string, values: unknown[], notifications: number): Promise<void> {
    try {
      await this.pool.query(text, values);
    } catch (error) {
      this.log.error({ err: error, notifications }, 'could not announce events');
    }
  }

  private receive(raw: string): void {
    if (this.reading) {
      this.backlog.push(raw);
      return;
    }
    if (!raw.startsWith(PARKED)) return this.inbound?.message(TOPIC_ALL, raw);
    const id = Number(raw.slice(raw.lastIndexOf(':') + 1, -1));
    if (!Number.isSafeInteger(id) || id <= 0) return this.inbound?.rejected('malformed');
    this.reading = this.pool
      .query<{ payload: string }>('SELECT payload FROM notification_payloads WHERE id = $1', [id])
      .then(
        ({ rows }) => (rows[0] ? this.inbound?.message(TOPIC_ALL, rows[0].payload) : this.log.warn({ ref: id }, 'a parked fan-out payload is gone; skipping')),
        (error: unknown) => this.log.error({ err: error, ref: id }, 'could not read a parked fan-out payload'),
      )
      .finally(() => {
        this.reading = null;
        const waiting = this.backlog.splice(0);
        for (const next of waiting) this.receive(next);
      });
  }

  private setState(state: BrokerState['state'], outage = false): void {
    this.status = { ...this.status, state, since: new Date().toISOString(), outages: this.status.outages + (outage ? 1 : 0) };
  }

  private onReconnecting(attempt: number): void {
    if (this.status.state === 'up') {
      this.setState('down', true);
      this.inbound?.down('LISTEN connection lost');
    }
    if (attempt > 1 && attempt % 10 === 0) this.log.warn({ attempt }, 'still reconnecting the LISTEN connection');
  }

  private onConnected(): void {
    if (this.status.state !== 'down') return;
    this.setState('up');
    this.inbound?.up();
  }
}
