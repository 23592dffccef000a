import type { PresenceStatus, PresenceStore, PresenceTransition } from '../../application/ports/presence-store.js';

/** Presence for a single process and for tests: the same promises as the PostgreSQL store, without leases. */
export class InMemoryPresenceStore implements PresenceStore {
  private readonly online = new Set<number>();
  private readonly lastSeen = new Map<number, Date>();

  async arrive(userIds: readonly number[]): Promise<number[]> {
    const arrived = userIds.filter((id) => !this.online.has(id));
    for (const id of arrived) this.online.add(id);
    return arrived;
  }

  async leave(userIds: readonly number[], at: Date): Promise<PresenceTransition[]> {
    const left = userIds.filter((id) => this.online.delete(id));
    for (const id of left) this.lastSeen.set(id, at);
    return left.map((userId) => ({ userId, online: false, lastSeenAt: at }));
  }

  async heartbeat(): Promise<PresenceTransition[]> {
    return [];
  }

  async statusOf(userIds: readonly number[]): Promise<Map<number, PresenceStatus>> {
    return new Map(userIds.map((id) => [id, { online: this.online.has(id), lastSeenAt: this.lastSeen.get(id) ?? null }]));
  }

  async close(): Promise<void> {}
}
