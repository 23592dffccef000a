import type { Conversation } from '../../domain/conversation.js';
import type { Message } from '../../domain/message.js';
import { ok, type Result } from '../../domain/result.js';
import type { Actor } from '../../domain/user.js';
import { conversationNotFound, withPresence, type ParticipantPresence } from '../access.js';
import type { Broadcaster } from '../ports/fanout.js';
import type { PresenceStore } from '../ports/presence-store.js';
import type { ConversationRepository } from '../ports/conversation-repository.js';
import type { MessageRepository } from '../ports/message-repository.js';
import type { Clock } from '../ports/services.js';
import type { JoinConversationInput } from '../schemas.js';

export const CATCH_UP_LIMIT = 100;

export interface JoinedConversation {
  readonly conversation: Conversation;
  readonly participants: ParticipantPresence[];
  readonly messages: Message[];
  readonly hasMore: boolean;
}

/**
 * Opens a conversation for a connection: joins an open group as a participant,
 * and returns the messages after `since` (catch-up after a reconnect) or, without
 * it, the newest page.
 */
export class JoinConversation {
  constructor(
    private readonly conversations: ConversationRepository,
    private readonly messages: MessageRepository,
    private readonly broadcaster: Broadcaster,
    private readonly presence: PresenceStore,
    private readonly clock: Clock,
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
    const since = input.since ?? undefined;
    const page = await this.messages.page(conversationId, since === undefined ? { limit: CATCH_UP_LIMIT } : { after: since, limit: CATCH_UP_LIMIT });
    const participants = await withPresence(await this.conversations.participants(conversationId), this.presence);
    return ok({ conversation, participants, messages: page.messages, hasMore: page.hasMore });
  }
}
