import type { InterestListener, LocalDelivery, MembershipChange, PushEvent } from '../../application/ports/fanout.js';
import type { Logger } from '../../application/ports/services.js';
import { CLOSE, type Connection, type WireProtocol } from './connection.js';

/** How each protocol frames a pushed event around its payload (serialised once per event). */
export const ENCODE: Record<WireProtocol, (event: PushEvent, dataJson: string) => string | Buffer> = {
  ws: (event, dataJson) => Buffer.from(`{"event":"${event}","data":${dataJson}}`),
  // A Socket.IO EVENT packet for the main namespace, as socket.io-parser would write it.
  socketio: (event, dataJson) => `2["${event}",${dataJson}]`,
};

/**
 * A user with at least one connection (or one being opened) on this process.
 * Membership is per user, so all of a user's connections share one entry.
 */
class LocalUser {
  readonly connections = new Set<Connection>();
  /** The conversations this user's connections receive. */
  readonly conversations = new Set<number>();
  constructor(readonly id: number) {}
}

/** Told when a user's first connection here opens and when their last one closes (presence listens). */
export interface UserPresenceListener {
  connected(userId: number): void;
  disconnected(userId: number): void;
}

export interface ConnectionRegistryOptions {
  /** Bytes one connection may fall behind before it is closed with 4008. */
  readonly maxBufferedBytes: number;
  /** Reads the user's conversations afresh, for a connection that may have missed a change while opening. */
  readonly reloadConversations: (userId: number) => Promise<number[]>;
  readonly logger: Logger;
}

/** Membership changes remembered per user, to catch one that raced a connection's opening. */
const RECENT_CHANGES_MAX = 50_000;

/**
 * The one registry of who is connected to this process, for every transport:
 * user → connections and conversation → users. Fan-out delivers through it.
 *
 * Hot path, written for speed: an event is encoded once per protocol and
 * written to each follower's connections; followers are indexed by user, so a
 * user's many devices cost one entry per conversation, not one per device.
 */
export class ConnectionRegistry implements LocalDelivery {
  private readonly users = new Map<number, LocalUser>();
  private readonly followers = new Map<number, Set<LocalUser>>();
  private changeSeq = 0;
  private readonly lastChangeOf = new Map<number, number>();
  private forgottenUpTo = 0;
  private readonly listeners: UserPresenceListener[] = [];
  private readonly byAddress = new Map<string, number>();
  /** Access ended, by user or by session, with the change counter at the time: an opening connection checks it. */
  private readonly endedAccess = new Map<string, number>();
  private interest: InterestListener | null = null;

  constructor(private readonly options: ConnectionRegistryOptions) {}

  /** Told when this process starts and stops following a conversation or a user (the fan-out subscribes by it). */
  watchInterest(listener: InterestListener): void {
    this.interest = listener;
  }

  observe(listener: UserPresenceListener): void {
    this.listeners.push(listener);
  }

  get connectionCount(): number {
    let n = 0;
    for (const user of this.users.values()) n += user.connections.size;
    return n;
  }

  /** Before `add`: resolves once the fan-out delivers everything committed from now on in these conversations here. */
  prepare(conversationIds: readonly number[]): Promise<void> {
    return this.interest ? this.interest.prepare(conversationIds) : Promise.resolve();
  }

  /** A mark to pass to `add` for a connection whose conversations are about to be read. */
  mark(): number {
    return this.changeSeq;
  }

  /**
   * Registers an open connection that receives `conversationIds`, as read
   * after `mark` was taken. When a membership change for this user was seen in
   * between, the list is read again, so the change cannot be lost.
   */
  add(connection: Connection, conversationIds: readonly number[], mark: number): void {
    // Access that ended while this connection was being checked (on a cached answer) ends it too.
    const ended = Math.max(
      this.endedAccess.get(`u${connection.actor.id}`) ?? -1,
      connection.sessionId ? (this.endedAccess.get(`s${connection.sessionId}`) ?? -1) : -1,
    );
    if (ended > mark) {
      connection.close(CLOSE.ACCESS_ENDED, 'Access ended');
      return;
    }
    this.byAddress.set(connection.remoteAddress, (this.byAddress.get(connection.remoteAddress) ?? 0) + 1);
    const userId = connection.actor.id;
    let user = this.users.get(userId);
    if (!user) {
      user = new LocalUser(userId);
      this.users.set(userId, user);
      this.interest?.userArrived(userId);
      for (const id of conversationIds) this.follow(user, id);
      const changed = this.lastChangeOf.get(userId) ?? (mark < this.forgottenUpTo ? Number.POSITIVE_INFINITY : -1);
      if (changed > mark) void this.reload(user);
      user.connections.add(connection);
      for (const listener of this.listeners) listener.connected(userId);
      return;
    }
    user.connections.add(connection);
  }

  remove(connection: Connection): void {
    const user = this.users.get(connection.actor.id);
    if (!user?.connections.delete(connection)) return;
    const left = (this.byAddress.get(connection.remoteAddress) ?? 1) - 1;
    if (left > 0) this.byAddress.set(connection.remoteAddress, left);
    else this.byAddress.delete(connection.remoteAddress);
    if (user.connections.size > 0) return;
    for (const id of user.conversations) this.unfollowIndex(user, id);
    this.users.delete(user.id);
    this.interest?.userLeft(user.id);
    for (const listener of this.listeners) listener.disconnected(user.id);
  }

  /** Conversations at least one connection here follows. */
  followedConversationIds(): number[] {
    return [...this.followers.keys()];
  }

  connectedUserIds(): number[] {
    return [...this.users.keys()];
  }

  /** Open connections from one client address. */
  connectionsFrom(address: string): number {
    return this.byAddress.get(address) ?? 0;
  }

  connectionsOf(userId: number): ReadonlySet<Connection> {
    return this.users.get(userId)?.connections ?? EMPTY;
  }

  publish(conversationIds: readonly number[], event: PushEvent, dataJson: string, exceptUserId?: number): void {
    if (conversationIds.length === 1) {
      const users = this.followers.get(conversationIds[0]!);
      if (users) this.deliver(users, event, dataJson, exceptUserId);
      return;
    }
    // Several conversations (a user's contacts): each follower once.
    const users = new Set<LocalUser>();
    for (const id of conversationIds) for (const user of this.followers.get(id) ?? []) users.add(user);
    if (users.size > 0) this.deliver(users, event, dataJson, exceptUserId);
  }

  sendToUser(userId: number, event: PushEvent, dataJson: string): void {
    const user = this.users.get(userId);
    if (user) this.deliver([user], event, dataJson);
  }

  membership(change: MembershipChange): void {
    this.lastChangeOf.delete(change.userId);
    this.lastChangeOf.set(change.userId, ++this.changeSeq);
    if (this.lastChangeOf.size > RECENT_CHANGES_MAX) this.forgetOldestChanges();
    const user = this.users.get(change.userId);
    if (!user) return;
    if (change.added) this.follow(user, change.conversationId);
    else this.unfollow(user, change.conversationId);
  }

  /** Makes the user's connections follow exactly these conversations (after changes may have been missed). */
  reconcile(userId: number, conversationIds: readonly number[]): void {
    const user = this.users.get(userId);
    if (!user) return;
    const wanted = new Set(conversationIds);
    for (const id of [...user.conversations]) if (!wanted.has(id)) this.unfollow(user, id);
    for (const id of wanted) this.follow(user, id);
  }

  /** Closes (4001) the connections of a user, or of one session, whose access ended. */
  endAccess(userId: number, sessionId: string | null): void {
    const key = sessionId ? `s${sessionId}` : `u${userId}`;
    this.endedAccess.delete(key);
    this.endedAccess.set(key, ++this.changeSeq);
    // Only connections still being opened need it: the oldest entries can go.
    if (this.endedAccess.size > RECENT_CHANGES_MAX) this.endedAccess.delete(this.endedAccess.keys().next().value!);
    const user = this.users.get(userId);
    if (!user) return;
    for (const c of [...user.connections]) if (!sessionId || c.sessionId === sessionId) c.close(CLOSE.ACCESS_ENDED, 'Access ended');
  }

  /** Closes every connection (for shutdown). */
  closeAll(code: number, reason: string): void {
    for (const user of [...this.users.values()]) for (const c of [...user.connections]) c.close(code, reason);
  }

  private deliver(users: Iterable<LocalUser>, event: PushEvent, dataJson: string, exceptUserId?: number): void {
    let ws: string | Buffer | null = null;
    let socketio: string | Buffer | null = null;
    const max = this.options.maxBufferedBytes;
    for (const user of users) {
      if (user.id === exceptUserId) continue;
      for (const c of user.connections) {
        if (c.protocol === 'ws') c.push((ws ??= ENCODE.ws(event, dataJson)), max);
        else c.push((socketio ??= ENCODE.socketio(event, dataJson)), max);
      }
    }
  }

  private follow(user: LocalUser, conversationId: number): void {
    user.conversations.add(conversationId);
    let users = this.followers.get(conversationId);
    if (!users) {
      this.followers.set(conversationId, (users = new Set()));
      this.interest?.conversationFollowed(conversationId);
    }
    users.add(user);
  }

  private unfollow(user: LocalUser, conversationId: number): void {
    user.conversations.delete(conversationId);
    this.unfollowIndex(user, conversationId);
  }

  private unfollowIndex(user: LocalUser, conversationId: number): void {
    const users = this.followers.get(conversationId);
    users?.delete(user);
    if (users?.size === 0) {
      this.followers.delete(conversationId);
      this.interest?.conversationUnfollowed(conversationId);
    }
  }

  private async reload(user: LocalUser): Promise<void> {
    try {
      const ids = await this.options.reloadConversations(user.id);
      if (this.users.get(user.id) === user) this.reconcile(user.id, ids);
    } catch (error) {
      this.options.logger.error({ err: error, userId: user.id }, 'could not reload a connection’s conversations');
    }
  }

  /** Keeps the change log bounded; a connection opened before the forgotten changes is reloaded. */
  private forgetOldestChanges(): void {
    let drop = this.lastChangeOf.size - RECENT_CHANGES_MAX / 2;
    for (const [userId, seq] of this.lastChangeOf) {
      if (drop-- <= 0) break;
      this.forgottenUpTo = Math.max(this.forgottenUpTo, seq);
      this.lastChangeOf.delete(userId);
    }
  }
}

const EMPTY: ReadonlySet<never> = new Set();
