import type { Session } from '../../domain/session.js';
import type { User } from '../../domain/user.js';
import type { AccessChangeNotice, FanoutObserver, MembershipChange } from '../../application/ports/fanout.js';
import type { Profile, ProfileRepository } from '../../application/ports/profile-repository.js';

export interface ProfileCacheOptions {
  /** Users kept; the least recently used go first. @default 100000 */
  readonly maxUsers?: number;
  /** Sessions kept. @default 200000 */
  readonly maxSessions?: number;
  /** Entries older than this are read again: a bound on staleness should an invalidation ever be missed. @default 300000 */
  readonly ttlMs?: number;
}

interface UserEntry {
  readonly user: User;
  readonly conversationIds: Set<number>;
  readonly loadedAt: number;
}

/**
 * Hot path, cached on purpose: every REST request and every upgrade needs its
 * user, its session and (for a connection) its conversations. A user seen
 * recently costs no database round trip; one not seen costs one query.
 * Everything that could make an answer stale arrives through fan-out: a
 * membership change is applied to the cached list, a changed access drops
 * the user (or the session), and a fan-out outage drops everything. A load
 * that an invalidation overtakes is used once but not kept.
 */
export class CachingProfileRepository implements ProfileRepository, FanoutObserver {
  private readonly users = new Map<number, UserEntry>();
  private readonly sessions = new Map<string, { session: Session; loadedAt: number }>();
  /** Bumped by every invalidation of a user (or of everything): a load started before it is not kept. */
  private readonly epochs = new Map<number, number>();
  private globalEpoch = 0;
  private readonly maxUsers: number;
  private readonly maxSessions: number;
  private readonly ttlMs: number;

  constructor(
    private readonly inner: ProfileRepository,
    options: ProfileCacheOptions = {},
  ) {
    this.maxUsers = options.maxUsers ?? 100_000;
    this.maxSessions = options.maxSessions ?? 200_000;
    this.ttlMs = options.ttlMs ?? 300_000;
  }

  async load(userId: number, sessionId: string | null): Promise<Profile> {
    const now = Date.now();
    const user = this.fresh(this.users, userId, now);
    const cached = sessionId ? this.fresh(this.sessions, sessionId, now) : null;
    // Another user's session is answered as none, as the query would: no round trip to learn it.
    const session = cached && cached.session.userId === userId ? cached.session : null;
    if (user && (!sessionId || cached)) {
      return { user: user.user, session, conversationIds: [...user.conversationIds] };
    }
    const epoch = this.epochOf(userId);
    const loaded = await this.inner.load(userId, sessionId);
    // Kept only if nothing about this user changed while it was read; deleted or unknown users are not kept.
    if (this.epochOf(userId) === epoch && loaded.user) {
      this.put(this.users, userId, { user: loaded.user, conversationIds: new Set(loaded.conversationIds), loadedAt: now }, this.maxUsers);
      if (loaded.session) this.put(this.sessions, loaded.session.id, { session: loaded.session, loadedAt: now }, this.maxSessions);
    }
    return loaded;
  }

  membershipChanged(change: MembershipChange): void {
    this.bump(change.userId);
    const entry = this.users.get(change.userId);
    if (!entry) return;
    if (change.added) entry.conversationIds.add(change.conversationId);
    else entry.conversationIds.delete(change.conversationId);
  }

  accessChanged(notice: AccessChangeNotice): void {
    this.bump(notice.userId);
    if (notice.sessionId) {
      this.sessions.delete(notice.sessionId);
      return;
    }
    this.users.delete(notice.userId);
    for (const [id, { session }] of this.sessions) if (session.userId === notice.userId) this.sessions.delete(id);
  }

  resynced(): void {
    this.globalEpoch += 1;
    this.epochs.clear();
    this.users.clear();
    this.sessions.clear();
  }

  get size(): { users: number; sessions: number } {
    return { users: this.users.size, sessions: this.sessions.size };
  }

  private epochOf(userId: number): string {
    return `${this.globalEpoch}:${this.epochs.get(userId) ?? 0}`;
  }

  private bump(userId: number): void {
    this.epochs.delete(userId);
    this.epochs.set(userId, (this.epochs.get(userId) ?? 0) + 1);
    // Only loads in flight need an epoch; keep the map bounded, and let no load in flight survive a forgotten one.
    if (this.epochs.size > this.maxUsers) {
      this.epochs.delete(this.epochs.keys().next().value!);
      this.globalEpoch += 1;
    }
  }

  private fresh<K, V extends { loadedAt: number }>(map: Map<K, V>, key: K, now: number): V | null {
    const entry = map.get(key);
    if (!entry) return null;
    if (now - entry.loadedAt >= this.ttlMs) {
      map.delete(key);
      return null;
    }
    map.delete(key);
    map.set(key, entry); // least recently used first
    return entry;
  }

  private put<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
    map.delete(key);
    map.set(key, value);
    if (map.size > max) map.delete(map.keys().next().value!);
  }
}
