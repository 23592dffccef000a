import { fail, ok, type Result } from '../../domain/result.js';
import type { Actor } from '../../domain/user.js';
import type { Broadcaster } from '../ports/fanout.js';
import type { ConversationRepository } from '../ports/conversation-repository.js';
import type { MessageRepository } from '../ports/message-repository.js';
import type { Clock } from '../ports/services.js';

/** The sender deletes (softly); staff may delete any message. */
export class DeleteMessage {
  constructor(
    private readonly conversations: ConversationRepository,
    private readonly messages: MessageRepository,
    private readonly broadcaster: Broadcaster,
    private readonly clock: Clock,
  ) {}

  async execute(actor: Actor, messageId: number): Promise<Result<{ id: number }>> {
    const message = await this.messages.findById(messageId);
    if (!message) return fail('MESSAGE_NOT_FOUND', `Message ${messageId} does not exist`);
    if (!actor.isStaff) {
      if (!(await this.conversations.isParticipant(message.conversationId, actor.id))) {
        return fail('NOT_A_PARTICIPANT', 'You are not a participant of this conversation');
      }
      if (message.senderId !== actor.id) return fail('NOT_MESSAGE_SENDER', 'Only the sender deletes a message');
    }
    const at = this.clock.now();
    if (!(await this.messages.softDelete(messageId, at))) {
      return fail('MESSAGE_NOT_FOUND', `Message ${messageId} does not exist`);
    }
    await this.broadcaster.toConversation(message.conversationId, 'messageDeleted', {
      id: messageId,
      conversation_id: message.conversationId,
      deleted_at: at.toISOString(),
    });
    return ok({ id: messageId });
  }
}
