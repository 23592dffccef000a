export interface PresenceTransition {
  readonly userId: number;
  readonly online: boolean;
  /** When an offline user was last connected. */
  readonly lastSeenAt: Date | null;
}

export interface PresenceStatus {
  readonly online: boolean;
  readonly lastSeenAt: Date | null;
}

/**
 * Who is connected to which server process, cluster-wide. A process holds a
 * lease that it renews; when it stops renewing (it died), the others end its
 * users' presence once the lease expires. Transitions are decided per user
 * one at a time, so two processes never both announce (or both miss) one.
 */
export interface PresenceStore {
  /** These users now have a connection on this process; resolves to those who were connected nowhere until now. */
  arrive(userIds: readonly number[]): Promise<number[]>;
  /** These users have no connection left on this process; resolves to those now connected nowhere. */
  leave(userIds: readonly number[], at: Date): Promise<PresenceTransition[]>;
  /** Renews this process's lease and ends expired ones; resolves to the users who went offline with them. */
  heartbeat(): Promise<PresenceTransition[]>;
  statusOf(userIds: readonly number[]): Promise<Map<number, PresenceStatus>>;
  /** This process stops: its users stay online for `graceMs` more, so a reconnect elsewhere shows no flap. */
  close(graceMs: number): Promise<void>;
}
