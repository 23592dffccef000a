import type pg from 'pg';
import pgListen, { type Subscriber } from 'pg-listen';
import type { Message } from '../../../domain/message.js';
import type { ConversationRepository } from '../../../application/ports/conversation-repository.js';
import type { FanoutObserver, LocalDelivery } from '../../../application/ports/fanout.js';
import type { MessageRepository } from '../../../application/ports/message-repository.js';
import type { Logger } from '../../../application/ports/services.js';
import { NO_TELEMETRY, type Telemetry } from '../../../application/ports/telemetry.js';
import { serialisedMessage } from '../../../application/views.js';
import { DeliveredIds } from '../engine/delivered-ids.js';
import { decode, membershipChanges, messagesPrefix, type Notification } from '../engine/notification-codec.js';
import { dispatchAccessChange } from '../../../application/access-changes.js';
import { laneCursors, laneOf } from '../../postgres/write-path/write-lanes.js';

/** pg-listen is CommonJS with its factory on `default`. */
const createSubscriber = pgListen.default;

export interface PgListenerOptions {
  /** Database URL for the dedicated LISTEN connection (not from the pool). */
  readonly url: string;
  readonly schema?: string;
  readonly channel: string;
  readonly nodeId: string;
  readonly lanes: number;
  /** This process's connections. */
  readonly delivery: LocalDelivery;
  /** Caches to keep in step with membership changes and resyncs. */
  readonly observers: readonly FanoutObserver[];
  /** For messages announced by id and for catching up after an outage. */
  readonly messages: Pick<MessageRepository, 'findByIds' | 'newerThan'>;
  readonly conversations: Pick<ConversationRepository, 'conversationIdsOfUsers'>;
  /** First reconnect delay in ms; doubles up to `maxRetryMs`, with jitter. @default 250 */
  readonly retryMs?: number;
  /** @default 10000 */
  readonly maxRetryMs?: number;
  /** How often the LISTEN connection is probed. @default 5000 */
  readonly probeMs?: number;
  readonly logger: Logger;
  /** @default NO_TELEMETRY */
  readonly telemetry?: Telemetry;
}

export interface FanoutState {
  readonly state: 'starting' | 'listening' | 'reconnecting' | 'closed';
  readonly since: string;
  readonly outages: number;
  /** The highest message id seen in each write lane. */
  readonly laneCursors: readonly number[];
}

const CATCH_UP_PAGE = 1000;

/**
 * The receiving side of fan-out across processes: one LISTEN connection,
 * notifications handled one at a time in the order PostgreSQL sent them and
 * delivered to this process's connections. After the connection is lost,
 * membership is resynced and the messages committed meanwhile are replayed
 * from per-lane cursors (exact, since each lane commits in id order), before
 * the notifications held meanwhile are let through.
 */
export class PgListener {
  private readonly subscriber: Subscriber;
  private readonly delivered = new DeliveredIds(100_000);
  private readonly cursors: number[];
  private queue: Promise<void> = Promise.resolve();
  private pending = 0;
  private held: string[] | null = null;
  private status: Omit<FanoutState, 'laneCursors'>;
  private outageStarted = 0;
  private cleanupTimer: NodeJS.Timeout | null = null;
  private readonly log: Logger;
  private readonly telemetry: Telemetry;
  private readonly ownMessagesPrefix: string;

  constructor(
    private readonly pool: pg.Pool,
    private readonly options: PgListenerOptions,
  ) {
    this.log = options.logger.child({ component: 'fanout' });
    this.telemetry = options.telemetry ?? NO_TELEMETRY;
    this.ownMessagesPrefix = messagesPrefix(options.nodeId);
    this.cursors = new Array<number>(options.lanes).fill(0);
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
    this.subscriber.notifications.on(options.channel, (raw: string) => this.receive(raw));
    this.subscriber.events.on('reconnect', (attempt: number) => this.onReconnecting(attempt));
    this.subscriber.events.on('connected', () => this.onConnected());
    this.subscriber.events.on('error', (error: Error) => this.log.error({ err: error }, 'LISTEN connection error'));
  }

  get state(): FanoutState {
    return { ...this.status, laneCursors: [...this.cursors] };
  }

  async start(): Promise<void> {
    await this.subscriber.connect();
    await this.subscriber.listenTo(this.options.channel);
    // Listening first: whatever commits after these cursors were read arrives as a notification.
    this.advanceCursors(await laneCursors(this.pool));
    this.status = { ...this.status, state: 'listening', since: new Date().toISOString() };
    this.telemetry.fanoutListening(true);
    // Parked payloads are read within moments of their notification; ten minutes is generous.
    this.cleanupTimer = setInterval(() => {
      this.pool
        .query("DELETE FROM notification_payloads WHERE created_at < now() - interval '10 minutes'")
        .catch((error: unknown) => this.log.warn({ err: error }, 'could not clean parked fan-out payloads'));
    }, 60_000);
    this.cleanupTimer.unref();
    this.log.info({ channel: this.options.channel, node: this.options.nodeId, lanes: this.options.lanes }, 'listening for fan-out notifications');
  }

  async close(): Promise<void> {
    if (this.cleanupTimer) clearInterval(this.cleanupTimer);
    this.status = { ...this.status, state: 'closed', since: new Date().toISOString() };
    await this.subscriber.close().catch(() => undefined);
    await this.queue;
  }

  /**
   * A batch this process just committed. When every earlier batch of its lane
   * has been delivered here, it is delivered at once (its notification, when
   * it comes back, is then skipped unread); otherwise it waits for the
   * notification, as every other process's batches do.
   */
  deliverCommitted(lane: number, previousId: number, messages: readonly Message[]): void {
    if (this.held || this.pending > 0 || (this.cursors[lane] ?? Number.POSITIVE_INFINITY) < previousId) return;
    for (const m of messages) {
      this.advanceCursor(lane, m.id);
      this.deliverMessage(m);
    }
  }

  private receive(raw: string): void {
    if (this.held) {
      this.held.push(raw);
      return;
    }
    // Hot path: this process's own batch, already delivered when it committed, is skipped before parsing.
    if (raw.startsWith(this.ownMessagesPrefix)) {
      const first = Number.parseInt(raw.slice(raw.indexOf('"i":[', this.ownMessagesPrefix.length) + 5), 10);
      if (Number.isSafeInteger(first) && this.delivered.has(first)) return;
    }
    const n = decode(raw);
    if (!n) {
      this.log.warn({ bytes: raw.length }, 'skipping a fan-out notification that cannot be decoded');
      return;
    }
    // Hot path: inline notifications are delivered at once, unless I/O for an earlier one is pending.
    if (this.pending === 0 && (n.t !== 'm' || n.rows !== null) && n.t !== 'ref') {
      this.dispatch(n);
      return;
    }
    this.pending += 1;
    this.queue = this.queue
      .then(() => this.dispatchWithIo(n))
      .catch((error: unknown) => this.log.error({ err: error, t: n.t }, 'fan-out notification failed'))
      .finally(() => {
        this.pending -= 1;
      });
  }

  private async dispatchWithIo(n: Notification): Promise<void> {
    if (n.t === 'ref') {
      const { rows } = await this.pool.query<{ payload: string }>('SELECT payload FROM notification_payloads WHERE id = $1', [n.id]);
      const inner = rows[0] ? decode(rows[0].payload) : null;
      if (!inner || inner.t === 'ref') return this.log.warn({ ref: n.id }, 'a parked fan-out payload is gone or malformed; skipping');
      return this.dispatchWithIo(inner);
    }
    if (n.t === 'm' && n.rows === null) {
      const ids = n.ids.filter((id): id is number => id !== null);
      const found = new Map((await this.options.messages.findByIds(ids)).map((m) => [m.id, m]));
      for (const id of ids) {
        this.advanceCursor(n.lane, id);
        const m = found.get(id);
        if (m) this.deliverMessage(m);
      }
      return;
    }
    this.dispatch(n);
  }

  private dispatch(n: Notification): void {
    const { delivery } = this.options;
    switch (n.t) {
      case 'm':
        n.ids.forEach((id, k) => {
          if (id === null) return;
          this.advanceCursor(n.lane, id);
          this.deliverMessage({ ...n.rows![k]!, id });
        });
        return;
      case 'c':
        return delivery.publish(n.conversations, n.event, n.dataJson, n.except ?? undefined);
      case 'u':
        return delivery.sendToUser(n.user, n.event, n.dataJson);
      case 'p':
        for (const change of membershipChanges(n)) {
          for (const observer of this.options.observers) observer.membershipChanged?.(change);
          delivery.membership(change);
        }
        return;
      case 'a':
        return dispatchAccessChange(n.notice, this.options.observers, delivery);
      case 'ref':
        return; // handled with I/O
    }
  }

  /** Exactly once per process: a message replayed after an outage and also notified is delivered once. */
  private deliverMessage(m: Message): void {
    if (!this.delivered.add(m.id)) return;
    this.telemetry.fanoutDelivered((Date.now() - m.createdAt.getTime()) / 1000);
    this.options.delivery.publish([m.conversationId], 'receiveMessage', serialisedMessage(m).json);
  }

  private advanceCursor(lane: number, id: number): void {
    if (lane < this.cursors.length && id > this.cursors[lane]!) this.cursors[lane] = id;
  }

  private advanceCursors(cursors: readonly number[]): void {
    cursors.forEach((id, lane) => this.advanceCursor(lane, id));
  }

  private onReconnecting(attempt: number): void {
    if (this.status.state !== 'reconnecting') {
      this.outageStarted = Date.now();
      this.held = [];
      this.status = { ...this.status, state: 'reconnecting', since: new Date().toISOString(), outages: this.status.outages + 1 };
      this.telemetry.fanoutListening(false);
      this.telemetry.fanoutOutage();
      this.log.warn({ laneCursors: this.cursors }, 'LISTEN connection lost; reconnecting');
    }
    if (attempt > 1 && attempt % 10 === 0) this.log.warn({ attempt }, 'still reconnecting the LISTEN connection');
  }

  /** Back from an outage: resync membership, replay what was committed meanwhile, then resume the stream. */
  private onConnected(): void {
    if (this.status.state !== 'reconnecting') return;
    const held = this.held ?? [];
    const from = [...this.cursors];
    this.queue = this.queue
      .then(() => this.catchUp())
      .then((replayed) => {
        this.held = null;
        this.status = { ...this.status, state: 'listening', since: new Date().toISOString() };
        this.telemetry.fanoutListening(true);
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
    for (const observer of this.options.observers) observer.resynced?.();
    const { delivery, lanes } = this.options;
    const users = delivery.connectedUserIds();
    if (users.length > 0) {
      const byUser = await this.options.conversations.conversationIdsOfUsers(users);
      for (const userId of users) delivery.reconcile(userId, byUser.get(userId) ?? []);
    }
    // Read before the replay: everything up to these cursors is committed, so the replay covers it.
    const committed = await laneCursors(this.pool);
    const byLane = new Map<number, number[]>();
    for (const id of delivery.followedConversationIds()) {
      const lane = laneOf(id, lanes);
      let list = byLane.get(lane);
      if (!list) byLane.set(lane, (list = []));
      list.push(id);
    }
    let replayed = 0;
    for (;;) {
      const groups = [...byLane].map(([lane, conversationIds]) => ({ conversationIds, afterId: this.cursors[lane] ?? 0 }));
      if (groups.length === 0) break;
      const page = await this.options.messages.newerThan(groups, CATCH_UP_PAGE);
      for (const m of page) {
        this.advanceCursor(laneOf(m.conversationId, lanes), m.id);
        this.deliverMessage(m);
      }
      replayed += page.length;
      if (page.length < CATCH_UP_PAGE) break;
    }
    this.advanceCursors(committed);
    return replayed;
  }
}
