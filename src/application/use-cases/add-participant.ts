import { canAddParticipant, type Conversation } from '../../domain/conversation.js';
import { fail, ok, type Result } from '../../domain/result.js';
import { conversationNotFound } from '../access.js';
import type { Actor } from '../../domain/user.js';
import type { Broadcaster } from '../ports/fanout.js';
import type { ConversationRepository } from '../ports/conversation-repository.js';
import type { Clock } from '../ports/services.js';
import type { UserRepository } from '../ports/user-repository.js';

export class AddParticipant {
  constructor(
    private readonly conversations: ConversationRepository,
    private readonly users: UserRepository,
    private readonly broadcaster: Broadcaster,
    private readonly clock: Clock,
  ) {}

  async execute(actor: Actor, conversationId: number, userId: number): Promise<Result<Conversation>> {
    const conversation = await this.conversations.findById(conversationId);
    if (!conversation) return conversationNotFound(conversationId);
    const actorIsParticipant = await this.conversations.isParticipant(conversationId, actor.id);
    // A non-participant sees only open groups, and may only join them.
    const visible = actorIsParticipant || actor.isStaff || (conversation.kind === 'group' && conversation.isOpen);
    if (!visible) return conversationNotFound(conversationId);
    const allowed = canAddParticipant(conversation, actor, actorIsParticipant, userId);
    if (!allowed.ok) return allowed;
    const [user] = await this.users.findSummaries([userId]);
    if (!user) return fail('USER_NOT_FOUND', `User ${userId} does not exist`);
    if (await this.conversations.addParticipant(conversationId, userId, this.clock.now(), actor.id)) {
      // Subscribe first, so the new participant's connections see their own arrival.
      await this.broadcaster.membershipChanged([{ conversationId, userId, added: true }]);
      await this.broadcaster.toConversation(conversationId, 'participantAdded', {
        conversation_id: conversationId,
        user,
        added_by: actor.id,
      });
    }
    return ok(conversation);
  }
}
