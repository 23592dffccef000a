import type { Broadcaster, MembershipChange, PushEvent } from '../../application/ports/broadcaster.js';

export type Recorded =
  | { kind: 'conversation'; conversationId: number; event: PushEvent; data: object }
  | { kind: 'user'; userId: number; event: PushEvent; data: object }
  | { kind: 'membership'; change: MembershipChange };

/** Keeps what was broadcast, in order, so use-case tests can look at it. */
export class InMemoryBroadcaster implements Broadcaster {
  readonly recorded: Recorded[] = [];

  async toConversation(conversationId: number, event: PushEvent, data: object): Promise<void> {
    this.recorded.push({ kind: 'conversation', conversationId, event, data });
  }

  async toUser(userId: number, event: PushEvent, data: object): Promise<void> {
    this.recorded.push({ kind: 'user', userId, event, data });
  }

  async membershipChanged(change: MembershipChange): Promise<void> {
    this.recorded.push({ kind: 'membership', change });
  }

  events(event: PushEvent): object[] {
    return this.recorded.flatMap((r) => (r.kind !== 'membership' && r.event === event ? [r.data] : []));
  }
}
