import type pg from 'pg';
import type {
  AccessChangeNotice,
  Audience,
  Broadcaster,
  ConversationsEvent,
  FanoutObserver,
  MembershipChange,
  PushEvent,
  PushEvents,
} from '../../../application/ports/fanout.js';
import type { Logger } from '../../../application/ports/services.js';
import {
  byteLength,
  encodeAccessChange,
  encodeConversationEvent,
  encodeMembership,
  encodeUserEvent,
  fitting,
  MAX_NOTIFY_BYTES,
  parkedPrefix,
} from '../engine/notification-codec.js';

/** Bytes of notifications sent in one statement. */
const BATCH_BYTES = 512 * 1024;

export interface PgBroadcasterOptions {
  readonly channel: string;
  /** This process's caches: told of an ended access at once, before the notification comes back. */
  readonly observers?: readonly FanoutObserver[];
  /** This process's name in notifications. */
  readonly nodeId: string;
  readonly logger: Logger;
}

/**
 * The sending side of fan-out across processes: each event becomes a NOTIFY
 * (or, too large for one, a parked payload announced by id). Delivery to this
 * process's own connections comes back through the same stream, like
 * everyone else's, so every process delivers in one order. New messages are
 * not sent from here: the statement that stores them announces them.
 */
export class PgBroadcaster implements Broadcaster {
  private readonly log: Logger;

  constructor(
    private readonly pool: pg.Pool,
    private readonly options: PgBroadcasterOptions,
  ) {
    this.log = options.logger.child({ component: 'fanout' });
  }

  async toConversation<E extends PushEvent>(conversationId: number, event: E, data: PushEvents[E], audience: Audience = {}): Promise<void> {
    await this.toConversations([conversationId], event, data, audience);
  }

  async toConversations<E extends PushEvent>(conversationIds: readonly number[], event: E, data: PushEvents[E], audience: Audience = {}): Promise<void> {
    await this.toConversationsEach([{ conversationIds, event, data, audience }]);
  }

  async toConversationsEach<E extends PushEvent>(events: ReadonlyArray<ConversationsEvent<E>>): Promise<void> {
    await this.sendAll(
      events.flatMap((e) => {
        if (e.conversationIds.length === 0) return [];
        const dataJson = JSON.stringify(e.data);
        const except = e.audience?.exceptUserId ?? null;
        return fitting(e.conversationIds, (part) => encodeConversationEvent(this.options.nodeId, part, e.event, dataJson, except));
      }),
    );
  }

  async toUser<E extends PushEvent>(userId: number, event: E, data: PushEvents[E]): Promise<void> {
    await this.send(encodeUserEvent(this.options.nodeId, userId, event, JSON.stringify(data)));
  }

  /** One notification per conversation and direction, whatever the number of users (a new group of 1,000 costs one). */
  async membershipChanged(changes: readonly MembershipChange[]): Promise<void> {
    const groups = new Map<string, { conversation: number; added: boolean; users: number[] }>();
    for (const c of changes) {
      const key = `${c.conversationId}:${c.added}`;
      let group = groups.get(key);
      if (!group) groups.set(key, (group = { conversation: c.conversationId, added: c.added, users: [] }));
      group.users.push(c.userId);
    }
    const payloads = [...groups.values()].flatMap((g) => fitting(g.users, (part) => encodeMembership(this.options.nodeId, g.conversation, part, g.added)));
    await this.sendAll(payloads);
  }

  /** This process's caches forget at once (so its next request is refused), then every process is told. */
  async accessChanged(notice: AccessChangeNotice): Promise<void> {
    for (const observer of this.options.observers ?? []) observer.accessChanged?.(notice);
    await this.send(encodeAccessChange(this.options.nodeId, notice));
  }

  /**
   * Several notifications, in order: those that fit go out many to a
   * statement (a transaction's notifications arrive in the order sent), a
   * parked one on its own between them.
   */
  private async sendAll(payloads: readonly string[]): Promise<void> {
    if (payloads.length === 1) return this.send(payloads[0]!);
    let batch: string[] = [];
    let bytes = 0;
    const flush = async () => {
      if (batch.length === 0) return;
      const sending = batch;
      batch = [];
      bytes = 0;
      try {
        await this.pool.query('SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p', [this.options.channel, sending]);
      } catch (error) {
        this.log.error({ err: error, notifications: sending.length }, 'could not announce events');
      }
    };
    for (const payload of payloads) {
      const size = byteLength(payload);
      if (size > MAX_NOTIFY_BYTES) {
        await flush();
        await this.send(payload);
        continue;
      }
      if (bytes + size > BATCH_BYTES) await flush();
      batch.push(payload);
      bytes += size;
    }
    await flush();
  }

  /** Resolves once the NOTIFY is committed, so a later event or write cannot overtake it. Never rejects. */
  private async send(payload: string): Promise<void> {
    try {
      if (byteLength(payload) <= MAX_NOTIFY_BYTES) {
        await this.pool.query('SELECT pg_notify($1, $2)', [this.options.channel, payload]);
        return;
      }
      await this.pool.query(
        `WITH p AS (INSERT INTO notification_payloads (payload) VALUES ($2) RETURNING id)
         SELECT pg_notify($1, $3::text || p.id || '}') FROM p`,
        [this.options.channel, payload, parkedPrefix(this.options.nodeId)],
      );
    } catch (error) {
      this.log.error({ err: error }, 'could not announce an event');
    }
  }
}
