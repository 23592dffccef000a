import type { ConversationRepository } from '../../application/ports/conversation-repository.js';
import type { PushStore, PushSubscription, Recipient } from '../../application/ports/push.js';

/** Subscriptions and mutes in memory, over the conversations' participants; for use-case tests. */
export class InMemoryPushStore implements PushStore {
  /** By endpoint, in registration order (a renewal moves to the end). */
  private readonly subscriptions = new Map<string, { userId: number; subscription: PushSubscription }>();
  private readonly muted = new Set<string>();

  constructor(private readonly conversations: Pick<ConversationRepository, 'isParticipant' | 'participants'>) {}

  async subscribe(userId: number, _sessionId: string | null, subscription: PushSubscription, max: number): Promise<void> {
    this.subscriptions.delete(subscription.endpoint);
    this.subscriptions.set(subscription.endpoint, { userId, subscription });
    const mine = [...this.subscriptions.values()].filter((s) => s.userId === userId);
    for (const old of mine.slice(0, Math.max(0, mine.length - max))) this.subscriptions.delete(old.subscription.endpoint);
  }

  async unsubscribe(userId: number, endpoint: string): Promise<boolean> {
    if (this.subscriptions.get(endpoint)?.userId !== userId) return false;
    return this.subscriptions.delete(endpoint);
  }

  async forget(endpoint: string): Promise<void> {
    this.subscriptions.delete(endpoint);
  }

  async setMuted(conversationId: number, userId: number, muted: boolean): Promise<boolean> {
    if (!(await this.conversations.isParticipant(conversationId, userId))) return false;
    if (muted) this.muted.add(`${conversationId}:${userId}`);
    else this.muted.delete(`${conversationId}:${userId}`);
    return true;
  }

  async recipients(conversationIds: readonly number[]): Promise<Map<number, Recipient[]>> {
    const subscribed = new Set([...this.subscriptions.values()].map((s) => s.userId));
    const out = new Map<number, Recipient[]>();
    for (const c of conversationIds) {
      const participants = await this.conversations.participants(c);
      out.set(
        c,
        participants.map((p) => ({ userId: p.id, muted: this.muted.has(`${c}:${p.id}`), subscribed: subscribed.has(p.id) })),
      );
    }
    return out;
  }

  async deliverable(userId: number, conversationId: number): Promise<PushSubscription[]> {
    if (this.muted.has(`${conversationId}:${userId}`) || !(await this.conversations.isParticipant(conversationId, userId))) return [];
    return [...this.subscriptions.values()].filter((s) => s.userId === userId).map((s) => s.subscription);
  }
}
