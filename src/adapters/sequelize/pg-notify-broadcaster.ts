import pgListen, { type Subscriber } from 'pg-listen';
import { QueryTypes, type Sequelize } from 'sequelize';
import type { Message } from '../../domain/message.js';
import type { Broadcaster, MembershipChange, PushEvent } from '../../application/ports/broadcaster.js';
import type { Logger } from '../../application/ports/services.js';
import { messageView } from '../../application/views.js';
import type { LocalHub } from '../realtime/local-hub.js';
import { MESSAGE_COLUMNS, toMessage, type Row } from './message-row.js';
import { byteLength, fromCompactRow, MAX_NOTIFY_BYTES, notificationSchema, type FanoutNotification } from './fanout-notification.js';
import { DeliveredIds } from './delivered-ids.js';

/** pg-listen is CommonJS with its factory on `default`. */
const createSubscriber = pgListen.default;

export interface PgNotifyBroadcasterOptions {
  /** Database URL for the dedicated LISTEN connection (not from the pool). */
  readonly url: string;
  readonly schema?: string;
  /** @default 'chat_fanout' */
  readonly channel?: string;
  /** This process's name in notifications. */
  readonly nodeId: string;
  /** First reconnect delay in ms; doubles up to `maxRetryMs`, with jitter. @default 250 */
  readonly retryMs?: number;
  /** @default 10000 */
  readonly maxRetryMs?: number;
  /** How often the LISTEN connection is probed. @default 5000 */
  readonly probeMs?: number;
  readonly logger: Logger;
}

export interface FanoutState {
  readonly state: 'starting' | 'listening' | 'reconnecting' | 'closed';
  readonly since: string;
  readonly outages: number;
  readonly lastMessageId: number;
}

/**
 * Fan-out across processes over PostgreSQL LISTEN/NOTIFY. Every event, this
 * process's own included, is delivered to local connections from one ordered
 * stream, so all processes deliver in the same (commit) order. New messages are
 * announced by their batch's own transaction; after an outage of the LISTEN
 * connection, what was committed meanwhile is replayed from the messages table.
 */
export class PgNotifyBroadcaster implements Broadcaster {
  private readonly subscriber: Subscriber;
  private readonly channel: string;
  private readonly delivered = new DeliveredIds(100_000);
  private queue: Promise<void> = Promise.resolve();
  private held: string[] | null = null;
  private lastMessageId = 0;
  private status: Omit<FanoutState, 'lastMessageId'>;
  private outageStarted = 0;
  private cleanupTimer: NodeJS.Timeout | null = null;
  private readonly log: Logger;

  constructor(
    private readonly sequelize: Sequelize,
    private readonly hub: LocalHub,
    private readonly options: PgNotifyBroadcasterOptions,
  ) {
    this.channel = options.channel ?? 'chat_fanout';
    this.log = options.logger.child({ component: 'fanout' });
    this.status = { state: 'starting', since: new Date().toISOString(), outages: 0 };
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
    this.subscriber.notifications.on(this.channel, (raw: string) => this.receive(raw));
    this.subscriber.events.on('reconnect', (attempt: number) => this.onReconnecting(attempt));
    this.subscriber.events.on('connected', () => this.onConnected());
    this.subscriber.events.on('error', (error: Error) => this.log.error({ err: error }, 'LISTEN connection error'));
  }

  get state(): FanoutState {
    return { ...this.status, lastMessageId: this.lastMessageId };
  }

  async start(): Promise<void> {
    await this.subscriber.connect();
    await this.subscriber.listenTo(this.channel);
    this.lastMessageId = await this.newestMessageId();
    this.status = { ...this.status, state: 'listening', since: new Date().toISOString() };
    this.cleanupTimer = setInterval(() => void this.cleanup(), 60_000);
    this.cleanupTimer.unref();
    this.log.info({ channel: this.channel, node: this.options.nodeId }, 'listening for fan-out notifications');
  }

  async close(): Promise<void> {
    if (this.cleanupTimer) clearInterval(this.cleanupTimer);
    this.status = { ...this.status, state: 'closed', since: new Date().toISOString() };
    await this.subscriber.close().catch(() => undefined);
    await this.queue;
  }

  get channelName(): string {
    return this.channel;
  }

  async toConversation(conversationId: number, event: PushEvent, data: object): Promise<void> {
    // New messages were announced by the transaction that stored them.
    if (event === 'receiveMessage') return;
    await this.send({ n: this.options.nodeId, t: 'c', c: conversationId, e: event, d: data as Record<string, unknown> });
  }

  async toUser(userId: number, event: PushEvent, data: object): Promise<void> {
    await this.send({ n: this.options.nodeId, t: 'u', u: userId, e: event, d: data as Record<string, unknown> });
  }

  async membershipChanged(change: MembershipChange): Promise<void> {
    await this.send({ n: this.options.nodeId, t: 'p', c: change.conversationId, u: change.userId, a: change.added });
  }

  /** Resolves once the NOTIFY is committed, so a later event or write cannot overtake it. */
  private async send(notification: FanoutNotification): Promise<void> {
    const payload = this.encode(notification);
    const sent =
      byteLength(payload) <= MAX_NOTIFY_BYTES
        ? this.notify(payload)
        : this.sequelize.query(
            `WITH p AS (INSERT INTO notification_payloads (payload) VALUES ($2) RETURNING id)
             SELECT pg_notify($1, json_build_object('n', $3::text, 't', 'ref', 'r', p.id)::text) FROM p`,
            { bind: [this.channel, payload, this.options.nodeId], type: QueryTypes.SELECT },
          );
    await sent.catch((error: unknown) => this.log.error({ err: error, t: notification.t }, 'could not announce an event'));
  }

  private async notify(payload: string): Promise<void> {
    await this.sequelize.query('SELECT pg_notify($1, $2)', { bind: [this.channel, payload], type: QueryTypes.SELECT });
  }

  private encode(notification: FanoutNotification): string {
    return JSON.stringify(notification);
  }

  /** Notifications are handled one at a time, in the order PostgreSQL sent them. */
  private receive(raw: string): void {
    if (this.held) {
      this.held.push(raw);
      return;
    }
    this.queue = this.queue.then(() => this.handle(raw)).catch((error: unknown) => this.log.error({ err: error }, 'fan-out notification failed'));
  }

  private async handle(raw: string): Promise<void> {
    let parsed: FanoutNotification;
    try {
      const result = notificationSchema.safeParse(JSON.parse(raw));
      if (!result.success) throw result.error;
      parsed = result.data;
    } catch {
      this.log.warn({ payload: raw.slice(0, 200) }, 'skipping a fan-out notification that cannot be parsed');
      return;
    }
    await this.apply(parsed);
  }

  private async apply(n: FanoutNotification): Promise<void> {
    switch (n.t) {
      case 'mc':
        for (const row of n.m) this.deliverStored(fromCompactRow(row));
        return;
      case 'mref':
        for (const m of await this.readMessages('m.id = ANY($1::bigint[])', [n.ids])) this.deliverStored(m);
        return;
      case 'c':
        return this.hub.deliver(n.c, n.e, JSON.stringify(n.d));
      case 'u':
        return this.hub.deliverToUser(n.u, n.e, JSON.stringify(n.d));
      case 'p':
        return this.hub.applyMembership({ conversationId: n.c, userId: n.u, added: n.a });
      case 'ref': {
        const [row] = await this.sequelize.query<Row>('SELECT payload FROM notification_payloads WHERE id = $1', { bind: [n.r], type: QueryTypes.SELECT });
        if (!row) return this.log.warn({ ref: n.r }, 'a parked fan-out payload is gone; skipping');
        return this.handle(String(row.payload));
      }
    }
  }

  /** Exactly once per process: a message replayed after an outage and also notified is delivered once. */
  private deliverStored(m: Message): void {
    if (m.id > this.lastMessageId) this.lastMessageId = m.id;
    if (!this.delivered.add(m.id)) return;
    this.hub.deliver(m.conversationId, 'receiveMessage', JSON.stringify(messageView(m)));
  }

  private onReconnecting(attempt: number): void {
    if (this.status.state !== 'reconnecting') {
      this.outageStarted = Date.now();
      this.held = [];
      this.status = { ...this.status, state: 'reconnecting', since: new Date().toISOString(), outages: this.status.outages + 1 };
      this.log.warn({ lastMessageId: this.lastMessageId }, 'LISTEN connection lost; reconnecting');
    }
    if (attempt > 1 && attempt % 10 === 0) this.log.warn({ attempt }, 'still reconnecting the LISTEN connection');
  }

  /** Back from an outage: resync membership, replay what was committed meanwhile, then resume the stream. */
  private onConnected(): void {
    if (this.status.state !== 'reconnecting') return;
    const held = this.held ?? [];
    const from = this.lastMessageId;
    this.queue = this.queue
      .then(() => this.catchUp())
      .then((replayed) => {
        this.held = null;
        this.status = { ...this.status, state: 'listening', since: new Date().toISOString() };
        this.log.info({ outageMs: Date.now() - this.outageStarted, from, replayed }, 'LISTEN connection restored; missed messages replayed');
        for (const raw of held) this.receive(raw);
      })
      .catch((error: unknown) => {
        // The database went away again; the next reconnect retries the catch-up.
        this.log.error({ err: error }, 'catch-up after reconnect failed');
        this.status = { ...this.status, state: 'reconnecting' };
        this.held = [...(this.held ?? []), ...held];
      });
  }

  private async catchUp(): Promise<number> {
    this.hub.resynced();
    const users = this.hub.connectedUserIds();
    if (users.length > 0) {
      const rows = await this.sequelize.query<Row>(
        `SELECT p.user_id, array_agg(p.conversation_id) AS ids FROM conversation_participants p
         JOIN conversations c ON c.id = p.conversation_id AND c.deleted_at IS NULL
         WHERE p.user_id = ANY($1::int[]) AND p.deleted_at IS NULL GROUP BY p.user_id`,
        { bind: [users], type: QueryTypes.SELECT },
      );
      const byUser = new Map(rows.map((r) => [Number(r.user_id), (r.ids as Array<number | string>).map(Number)]));
      for (const userId of users) this.hub.reconcile(userId, byUser.get(userId) ?? []);
    }
    const followed = this.hub.followedConversationIds();
    let replayed = 0;
    for (;;) {
      const page = await this.readMessages('m.id > $1 AND m.conversation_id = ANY($2::int[])', [this.lastMessageId, followed], 1000);
      for (const m of page) this.deliverStored(m);
      replayed += page.length;
      if (page.length < 1000) break;
    }
    this.lastMessageId = Math.max(this.lastMessageId, await this.newestMessageId());
    return replayed;
  }

  private async newestMessageId(): Promise<number> {
    const [row] = await this.sequelize.query<Row>('SELECT coalesce(max(id), 0) AS id FROM messages', { type: QueryTypes.SELECT });
    return Number(row?.id ?? 0);
  }

  private readMessages(where: string, bind: unknown[], limit = 10_000): Promise<Message[]> {
    return this.sequelize
      .query<Row>(
        `SELECT ${MESSAGE_COLUMNS} FROM messages m JOIN users u ON u.id = m.sender_id
         WHERE ${where} AND m.deleted_at IS NULL ORDER BY m.id LIMIT ${limit}`,
        { bind, type: QueryTypes.SELECT },
      )
      .then((rows) => rows.map((r) => toMessage(r)));
  }

  private async cleanup(): Promise<void> {
    await this.sequelize
      .query("DELETE FROM notification_payloads WHERE created_at < now() - interval '10 minutes'")
      .catch((error: unknown) => this.log.warn({ err: error }, 'could not clean parked fan-out payloads'));
  }
}
