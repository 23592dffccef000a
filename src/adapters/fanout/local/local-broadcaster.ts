import { dispatchAccessChange } from '../../../application/access-changes.js';
import type {
  AccessChangeNotice,
  Audience,
  Broadcaster,
  ConversationsEvent,
  FanoutObserver,
  LocalDelivery,
  MembershipChange,
  PushEvent,
  PushEvents,
} from '../../../application/ports/fanout.js';

/**
 * Fan-out within one process: each event is serialised once and handed to
 * this process's connections. For a single process (FANOUT=local) and for
 * tests; across processes the PostgreSQL broadcaster does the same job.
 */
export class LocalBroadcaster implements Broadcaster {
  constructor(
    private readonly delivery: LocalDelivery,
    private readonly observers: readonly FanoutObserver[] = [],
  ) {}

  async toConversation<E extends PushEvent>(conversationId: number, event: E, data: PushEvents[E], audience: Audience = {}): Promise<void> {
    this.delivery.publish([conversationId], event, JSON.stringify(data), audience.exceptUserId);
  }

  async toConversations<E extends PushEvent>(conversationIds: readonly number[], event: E, data: PushEvents[E], audience: Audience = {}): Promise<void> {
    if (conversationIds.length > 0) this.delivery.publish(conversationIds, event, JSON.stringify(data), audience.exceptUserId);
  }

  async toConversationsEach<E extends PushEvent>(events: ReadonlyArray<ConversationsEvent<E>>): Promise<void> {
    for (const e of events) await this.toConversations(e.conversationIds, e.event, e.data, e.audience);
  }

  async toUser<E extends PushEvent>(userId: number, event: E, data: PushEvents[E]): Promise<void> {
    this.delivery.sendToUser(userId, event, JSON.stringify(data));
  }

  async accessChanged(notice: AccessChangeNotice): Promise<void> {
    dispatchAccessChange(notice, this.observers, this.delivery);
  }

  async membershipChanged(changes: readonly MembershipChange[]): Promise<void> {
    for (const change of changes) {
      for (const observer of this.observers) observer.membershipChanged?.(change);
      this.delivery.membership(change);
    }
  }
}
