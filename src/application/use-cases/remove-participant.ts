import { canRemoveParticipant } from '../../domain/conversation.js';
import { fail, ok, type Result } from '../../domain/result.js';
import { conversationNotFound } from '../access.js';
import type { Actor } from '../../domain/user.js';
import type { Broadcaster } from '../ports/fanout.js';
import type { ConversationRepository } from '../ports/conversation-repository.js';
import type { Clock } from '../ports/services.js';

export class RemoveParticipant {
  constructor(
    private readonly conversations: ConversationRepository,
    private readonly broadcaster: Broadcaster,
    private readonly clock: Clock,
  ) {}

  async execute(actor: Actor, conversationId: number, userId: number): Promise<Result<{ conversation_id: number; user_id: number }>> {
    const conversation = await this.conversations.findById(conversationId);
    if (!conversation) return conversationNotFound(conversationId);
    if (!actor.isStaff && !(await this.conversations.isParticipant(conversationId, actor.id))) return conversationNotFound(conversationId);
    const allowed = canRemoveParticipant(conversation, actor, userId);
    if (!allowed.ok) return allowed;
    const removed = await this.conversations.removeParticipant(conversationId, userId, this.clock.now(), actor.id);
    if (!removed) return fail('NOT_A_PARTICIPANT', `User ${userId} is not a participant of this conversation`);
    // Every process forgets the membership first (their caches let the removed user send until then), and only
    // then is the removed user told, directly: once unsubscribed, the conversation's topic no longer reaches them.
    const notice = { conversation_id: conversationId, user_id: userId, removed_by: actor.id };
    await this.broadcaster.membershipChanged([{ conversationId, userId, added: false }]);
    await this.broadcaster.toUser(userId, 'participantRemoved', notice);
    await this.broadcaster.toConversation(conversationId, 'participantRemoved', notice);
    return ok({ conversation_id: conversationId, user_id: userId });
  }
}
