import type { Conversation } from '../../domain/conversation.js';
import type { Message } from '../../domain/message.js';
import { ok, type Result } from '../../domain/result.js';
import type { Actor } from '../../domain/user.js';
import { conversationNotFound, presenceFor, type ParticipantPresence } from '../access.js';
import type { Broadcaster } from '../ports/fanout.js';
import type { PresenceStore } from '../ports/presence-store.js';
import type { ConversationRepository } from '../ports/conversation-repository.js';
import type { MessageRepository } from '../ports/message-repository.js';
import type { EventStream, StreamEvent } from '../ports/event-stream.js';
import type { Clock } from '../ports/services.js';
import type { JoinConversationInput } from '../schemas.js';

export const CATCH_UP_LIMIT = 100;

export interface JoinedConversation {
  readonly conversation: Conversation;
  readonly participants: ParticipantPresence[];
  readonly messages: Message[];
  readonly hasMore: boolean;
  /** With `since`: every kind of change after it, in order (messages among them), to push before answering. */
  readonly replay: { readonly events: StreamEvent[]; readonly next: number } | null;
}

/**
 * Opens a conversation for a connection: joins an open group as a participant,
 * and returns the newest page of messages or, with `since` (catch-up after a
 * reconnect), every change after it: the messages and, in the same order, the
 * edits, deletions, read receipts and membership changes (at most
 * CATCH_UP_LIMIT of them; `hasMore` says there are more).
 */
export class JoinConversation {
  constructor(
    private readonly conversations: ConversationRepository,
    private readonly messages: MessageRepository,
    private readonly broadcaster: Broadcaster,
    private readonly presence: PresenceStore,
    private readonly clock: Clock,
    private readonly events: EventStream,
  ) {}

  async execute(actor: Actor, input: JoinConversationInput): Promise<Result<JoinedConversation>> {
    const conversationId = input.conversation_id;
    const conversation = await this.conversations.findById(conversationId);
    if (!conversation) return conversationNotFound(conversationId);
    if (!(await this.conversations.isParticipant(conversationId, actor.id))) {
      // Open groups are public by id; anything else is not there for a non-participant.
      if (conversation.kind !== 'group' || !conversation.isOpen) return conversationNotFound(conversationId);
      if (await this.conversations.addParticipant(conversationId, actor.id, this.clock.now(), actor.id)) {
        await this.broadcaster.membershipChanged([{ conversationId, userId: actor.id, added: true }]);
        await this.broadcaster.toConversation(conversationId, 'participantAdded', {
          conversation_id: conversationId,
          user: { id: actor.id, username: actor.username },
          added_by: actor.id,
        });
      }
    }
    const participants = await presenceFor(this.conversations, conversation, await this.conversations.participants(conversationId), this.presence, actor.id);
    const since = input.since ?? undefined;
    if (since === undefined) {
      const page = await this.messages.page(conversationId, { limit: CATCH_UP_LIMIT });
      return ok({ conversation, participants, messages: page.messages, hasMore: page.hasMore, replay: null });
    }
    // The stream holds every message after `since` too: its page bounds the messages answered with it.
    const stream = await this.events.conversation(conversationId, since, CATCH_UP_LIMIT);
    const page = await this.messages.page(conversationId, { after: since, limit: CATCH_UP_LIMIT });
    const messages = stream.hasMore ? page.messages.filter((m) => m.id <= stream.next) : page.messages;
    return ok({ conversation, participants, messages, hasMore: stream.hasMore, replay: { events: stream.events, next: stream.next } });
  }
}
