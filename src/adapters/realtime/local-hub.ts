import type { Broadcaster, MembershipChange, PushEvent } from '../../application/ports/broadcaster.js';

/** A transport's side of fan-out: delivers to the connections it holds on this process. */
export interface FanoutSink {
  /** `dataJson` is the event's payload, serialised once for every sink and recipient. */
  publish(conversationId: number, event: PushEvent, dataJson: string): void;
  sendToUser(userId: number, event: PushEvent, dataJson: string): void;
  membership(change: MembershipChange): void;
  /** Users with an open connection here. */
  connectedUserIds(): number[];
  /** Makes the user's connections follow exactly these conversations (after missed membership changes). */
  reconcile(userId: number, conversationIds: readonly number[]): void;
  /** Conversations at least one connection here follows. */
  followedConversationIds(): number[];
}

/**
 * In-process fan-out: each event is serialised once and handed to every
 * transport on this process, which publishes it to a per-conversation topic.
 */
export class LocalHub implements Broadcaster {
  private readonly sinks = new Set<FanoutSink>();
  private readonly membershipListeners: Array<(change: MembershipChange) => void> = [];
  private readonly resyncListeners: Array<() => void> = [];

  /** Told of every membership change, from this process or another (caches use it to invalidate). */
  onMembership(listener: (change: MembershipChange) => void): void {
    this.membershipListeners.push(listener);
  }

  /** Told when changes may have been missed (after a fan-out outage). */
  onResync(listener: () => void): void {
    this.resyncListeners.push(listener);
  }

  resynced(): void {
    for (const listener of this.resyncListeners) listener();
  }

  attach(sink: FanoutSink): () => void {
    this.sinks.add(sink);
    return () => this.sinks.delete(sink);
  }

  async toConversation(conversationId: number, event: PushEvent, data: object): Promise<void> {
    this.deliver(conversationId, event, JSON.stringify(data));
  }

  async toUser(userId: number, event: PushEvent, data: object): Promise<void> {
    this.deliverToUser(userId, event, JSON.stringify(data));
  }

  deliverToUser(userId: number, event: PushEvent, dataJson: string): void {
    for (const sink of this.sinks) sink.sendToUser(userId, event, dataJson);
  }

  async membershipChanged(change: MembershipChange): Promise<void> {
    this.applyMembership(change);
  }

  applyMembership(change: MembershipChange): void {
    for (const listener of this.membershipListeners) listener(change);
    for (const sink of this.sinks) sink.membership(change);
  }

  connectedUserIds(): number[] {
    return [...new Set([...this.sinks].flatMap((s) => s.connectedUserIds()))];
  }

  followedConversationIds(): number[] {
    return [...new Set([...this.sinks].flatMap((s) => s.followedConversationIds()))];
  }

  reconcile(userId: number, conversationIds: readonly number[]): void {
    for (const sink of this.sinks) sink.reconcile(userId, conversationIds);
  }

  /** Also the entry point for events that arrive from other processes. */
  deliver(conversationId: number, event: PushEvent, dataJson: string): void {
    for (const sink of this.sinks) sink.publish(conversationId, event, dataJson);
  }
}
