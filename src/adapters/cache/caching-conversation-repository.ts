import type { Conversation, ParticipantSummary } from '../../domain/conversation.js';
import type { ConversationListPage, ConversationRepository, ListCursor, NewGroup } from '../../application/ports/conversation-repository.js';
import type { FanoutObserver, MembershipChange } from '../../application/ports/fanout.js';

export interface MembershipCacheOptions {
  /** Conversations kept; the least recently used are dropped beyond it. @default 10000 */
  readonly maxEntries?: number;
  /** Entries older than this are read again, a bound on staleness if an invalidation is ever missed. @default 60000 */
  readonly ttlMs?: number;
}

interface Entry {
  readonly conversation: Conversation | null;
  readonly members: Set<number>;
  /** A direct conversation whose two people are blocked (either way): the send path refuses without a query. */
  readonly blocked: boolean;
  readonly loadedAt: number;
}

/**
 * Hot path, cached on purpose: every send asks "does this conversation exist,
 * and is the sender in it?". Answers are kept per conversation and dropped on
 * any membership change (or a block between a direct conversation's two
 * people), whether made here or (through `invalidate`, fed by the fan-out) on
 * another process.
 */
export class CachingConversationRepository implements ConversationRepository, FanoutObserver {
  private readonly entries = new Map<number, Entry>();
  /** Loads in flight; an invalidation marks its load stale, so the result is used once but not kept. */
  private readonly loading = new Map<number, { promise: Promise<Entry>; stale: boolean }>();
  private readonly maxEntries: number;
  private readonly ttlMs: number;

  constructor(
    private readonly inner: ConversationRepository,
    options: MembershipCacheOptions = {},
  ) {
    this.maxEntries = options.maxEntries ?? 10_000;
    this.ttlMs = options.ttlMs ?? 60_000;
  }

  invalidate(conversationId: number): void {
    this.entries.delete(conversationId);
    const load = this.loading.get(conversationId);
    if (load) load.stale = true;
    this.loading.delete(conversationId);
  }

  membershipChanged(change: MembershipChange): void {
    this.invalidate(change.conversationId);
  }

  conversationChanged(conversationId: number): void {
    this.invalidate(conversationId);
  }

  resynced(): void {
    this.clear();
  }

  clear(): void {
    this.entries.clear();
    for (const load of this.loading.values()) load.stale = true;
    this.loading.clear();
  }

  /** Conversations cached and loads in flight: both bounded (for tests and metrics). */
  get size(): { entries: number; loading: number } {
    return { entries: this.entries.size, loading: this.loading.size };
  }

  async findById(id: number): Promise<Conversation | null> {
    return (await this.entry(id)).conversation;
  }

  async isParticipant(conversationId: number, userId: number): Promise<boolean> {
    return (await this.entry(conversationId)).members.has(userId);
  }

  async isBlocked(conversationId: number): Promise<boolean> {
    return (await this.entry(conversationId)).blocked;
  }

  blockedAmong(conversationIds: readonly number[]): Promise<Set<number>> {
    return this.inner.blockedAmong(conversationIds);
  }

  blockedBetween(a: number, b: number): Promise<boolean> {
    return this.inner.blockedBetween(a, b);
  }

  async createGroup(group: NewGroup, now: Date): Promise<Conversation> {
    const created = await this.inner.createGroup(group, now);
    this.invalidate(created.id);
    return created;
  }

  async findOrCreateDirect(a: number, b: number, now: Date) {
    const result = await this.inner.findOrCreateDirect(a, b, now);
    if (result.created) this.invalidate(result.conversation.id);
    return result;
  }

  participants(conversationId: number): Promise<ParticipantSummary[]> {
    return this.inner.participants(conversationId);
  }

  async addParticipant(conversationId: number, userId: number, now: Date, addedBy: number): Promise<boolean> {
    try {
      return await this.inner.addParticipant(conversationId, userId, now, addedBy);
    } finally {
      this.invalidate(conversationId);
    }
  }

  async removeParticipant(conversationId: number, userId: number, now: Date, removedBy: number): Promise<boolean> {
    try {
      return await this.inner.removeParticipant(conversationId, userId, now, removedBy);
    } finally {
      this.invalidate(conversationId);
    }
  }

  conversationIdsOf(userId: number): Promise<number[]> {
    return this.inner.conversationIdsOf(userId);
  }

  conversationIdsOfUsers(userIds: readonly number[]): Promise<Map<number, number[]>> {
    return this.inner.conversationIdsOfUsers(userIds);
  }

  listForUser(userId: number, query: { limit: number; after?: ListCursor; archived?: boolean }): Promise<ConversationListPage> {
    return this.inner.listForUser(userId, query);
  }

  advanceReadMarker(conversationId: number, userId: number, messageId: number, now: Date): Promise<{ previous: number; current: number }> {
    return this.inner.advanceReadMarker(conversationId, userId, messageId, now);
  }

  countGroupsCreatedSince(userId: number, since: Date): Promise<number> {
    return this.inner.countGroupsCreatedSince(userId, since);
  }

  private entry(conversationId: number): Promise<Entry> {
    const cached = this.entries.get(conversationId);
    if (cached && Date.now() - cached.loadedAt < this.ttlMs) {
      // Re-insert to keep the map in least-recently-used order.
      this.entries.delete(conversationId);
      this.entries.set(conversationId, cached);
      return Promise.resolve(cached);
    }
    const inFlight = this.loading.get(conversationId);
    if (inFlight) return inFlight.promise;
    const load = { promise: null as unknown as Promise<Entry>, stale: false };
    load.promise = this.load(conversationId, load);
    this.loading.set(conversationId, load);
    void load.promise
      .finally(() => {
        if (this.loading.get(conversationId) === load) this.loading.delete(conversationId);
      })
      .catch(() => undefined);
    return load.promise;
  }

  /** One load per conversation at a time; an invalidation during the load keeps its result out of the cache. */
  private async load(conversationId: number, load: { stale: boolean }): Promise<Entry> {
    const loadedAt = Date.now();
    const [conversation, members, blocked] = await Promise.all([
      this.inner.findById(conversationId),
      this.inner.participants(conversationId),
      this.inner.isBlocked(conversationId),
    ]);
    const entry: Entry = { conversation, members: new Set(members.map((m) => m.id)), blocked, loadedAt };
    if (!load.stale) {
      this.entries.set(conversationId, entry);
      if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    }
    return entry;
  }
}
