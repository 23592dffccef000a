import { ok, type Result } from '../../domain/result.js';
import type { Actor } from '../../domain/user.js';
import { conversationOfParticipant } from '../access.js';
import type { ConversationRepository } from '../ports/conversation-repository.js';
import type { EventStream, StreamPage } from '../ports/event-stream.js';
import type { EventsQueryInput } from '../schemas.js';

/**
 * Catch-up of every kind of change: one conversation's stream after a cursor,
 * or (`sync`) all of the caller's conversations at once, for an app back from
 * the background. Cursors are stream ids; the last message id a client saw is
 * one.
 */
export class ReadEvents {
  constructor(
    private readonly conversations: ConversationRepository,
    private readonly events: EventStream,
  ) {}

  async ofConversation(actor: Actor, conversationId: number, query: EventsQueryInput): Promise<Result<StreamPage>> {
    const found = await conversationOfParticipant(this.conversations, conversationId, actor);
    if (!found.ok) return found;
    return ok(await this.events.conversation(conversationId, query.since ?? 0, query.limit));
  }

  async sync(actor: Actor, query: EventsQueryInput): Promise<Result<StreamPage>> {
    return ok(await this.events.ofUser(actor.id, query.since ?? 0, query.limit));
  }
}
