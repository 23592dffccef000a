import type { Broadcaster } from './ports/fanout.js';
import type { ConversationRepository } from './ports/conversation-repository.js';
import type { PresenceStore, PresenceTransition } from './ports/presence-store.js';
import type { Clock, Logger } from './ports/services.js';

export interface PresenceOptions {
  /** A user whose last connection closes stays online this long, so a reconnect shows no flap. @default 5000 */
  readonly graceMs?: number;
  /** Arrivals and departures are written in batches this often. @default 100 */
  readonly flushMs?: number;
  /** How often the lease is renewed (and expired ones ended). @default 5000 */
  readonly heartbeatMs?: number;
}

interface Local {
  /** Pending end of presence after the last connection closed. */
  grace: NodeJS.Timeout | null;
}

/**
 * Presence on this process: a user is online while at least one of their
 * connections is open, on any process. Told by the connection registry when a
 * user's first connection here opens and their last one closes; announces
 * `presence` to everyone who shares a conversation with the user when that
 * changes cluster-wide. Writes are batched: a storm of reconnects costs a few
 * statements, not one per connection.
 */
export class PresenceTracker {
  private readonly local = new Map<number, Local>();
  private toArrive = new Set<number>();
  private toLeave = new Map<number, Date>();
  private flushTimer: NodeJS.Timeout | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();
  private readonly graceMs: number;
  private readonly flushMs: number;
  private readonly heartbeatMs: number;

  constructor(
    private readonly store: PresenceStore,
    private readonly broadcaster: Broadcaster,
    private readonly conversations: Pick<ConversationRepository, 'conversationIdsOfUsers' | 'blockedAmong'>,
    private readonly clock: Clock,
    private readonly logger: Logger,
    options: PresenceOptions = {},
  ) {
    this.graceMs = options.graceMs ?? 5_000;
    this.flushMs = options.flushMs ?? 100;
    this.heartbeatMs = options.heartbeatMs ?? 5_000;
  }

  /** Takes the lease; the users of processes that died are announced offline in the background, not before serving. */
  async start(): Promise<void> {
    const ended = await this.store.heartbeat();
    this.flushing = this.flushing
      .then(() => this.announce(ended))
      .catch((error: unknown) => this.logger.warn({ err: error }, 'could not announce presence that ended'));
    this.heartbeatTimer = setInterval(() => {
      void this.store.heartbeat().then(
        (ended) => this.announce(ended),
        (error: unknown) => this.logger.warn({ err: error }, 'presence heartbeat failed'),
      );
    }, this.heartbeatMs);
    this.heartbeatTimer.unref();
  }

  /** The user's first connection on this process opened. */
  connected(userId: number): void {
    const known = this.local.get(userId);
    if (known) {
      // Back within the grace period: nothing changes anywhere.
      if (known.grace) clearTimeout(known.grace);
      known.grace = null;
      return;
    }
    this.local.set(userId, { grace: null });
    this.toArrive.add(userId);
    this.schedule();
  }

  /** The user's last connection on this process closed. */
  disconnected(userId: number): void {
    const known = this.local.get(userId);
    if (!known || known.grace) return;
    const at = this.clock.now();
    known.grace = setTimeout(() => {
      known.grace = null;
      this.local.delete(userId);
      if (this.toArrive.delete(userId)) return; // never written: nothing to undo
      this.toLeave.set(userId, at);
      this.schedule();
    }, this.graceMs);
    known.grace.unref();
  }

  /** Whether the user has a connection on this process (then no store read is needed). */
  isLocal(userId: number): boolean {
    return this.local.has(userId);
  }

  /** Stops renewing; this process's users stay online for the grace period, then others end them. */
  async stop(): Promise<void> {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    if (this.flushTimer) clearTimeout(this.flushTimer);
    for (const l of this.local.values()) if (l.grace) clearTimeout(l.grace);
    await this.flushing;
    await this.store.close(this.graceMs).catch((error: unknown) => this.logger.warn({ err: error }, 'could not shorten the presence lease'));
  }

  private schedule(): void {
    if (this.flushTimer) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = null;
      this.flushing = this.flushing.then(() => this.flush());
    }, this.flushMs);
    this.flushTimer.unref();
  }

  private async flush(): Promise<void> {
    const arriving = [...this.toArrive];
    const leaving = [...this.toLeave];
    this.toArrive = new Set();
    this.toLeave = new Map();
    try {
      const transitions: PresenceTransition[] = [];
      if (leaving.length > 0) {
        // Grouped by time only to keep last_seen_at exact; one statement per distinct instant is rare.
        const byTime = new Map<number, number[]>();
        for (const [userId, at] of leaving) {
          const list = byTime.get(at.getTime()) ?? [];
          list.push(userId);
          byTime.set(at.getTime(), list);
        }
        for (const [at, userIds] of byTime) transitions.push(...(await this.store.leave(userIds, new Date(at))));
      }
      if (arriving.length > 0) {
        const online = await this.store.arrive(arriving);
        transitions.push(...online.map((userId) => ({ userId, online: true, lastSeenAt: null })));
      }
      await this.announce(transitions);
    } catch (error) {
      this.logger.warn({ err: error, arriving: arriving.length, leaving: leaving.length }, 'presence update failed; retrying');
      for (const userId of arriving) if (this.local.has(userId)) this.toArrive.add(userId);
      for (const [userId, at] of leaving) if (!this.local.has(userId)) this.toLeave.set(userId, at);
      this.schedule();
    }
  }

  /**
   * To everyone who shares a conversation with the user, not to the user, and
   * not through a direct conversation with a block between its two people.
   */
  private async announce(transitions: readonly PresenceTransition[]): Promise<void> {
    if (transitions.length === 0) return;
    const conversationsOf = await this.conversations.conversationIdsOfUsers(transitions.map((t) => t.userId));
    // One query per batch of transitions, whatever its size.
    const blocked = await this.conversations.blockedAmong([...new Set([...conversationsOf.values()].flat())]);
    if (blocked.size > 0)
      for (const [userId, ids] of conversationsOf)
        conversationsOf.set(
          userId,
          ids.filter((id) => !blocked.has(id)),
        );
    // In one step however many users changed (a storm of reconnects, or the users of a process that died).
    await this.broadcaster.toConversationsEach(
      transitions.map((t) => ({
        conversationIds: conversationsOf.get(t.userId) ?? [],
        event: 'presence' as const,
        data: { user_id: t.userId, online: t.online, last_seen_at: t.lastSeenAt ? t.lastSeenAt.toISOString() : null },
        audience: { exceptUserId: t.userId },
      })),
    );
  }
}
