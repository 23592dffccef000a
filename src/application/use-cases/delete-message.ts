import { fail, ok, type Result } from '../../domain/result.js';
import { messageNotFound } from '../access.js';
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
    if (!message) return messageNotFound(messageId);
    if (!actor.isStaff) {
      if (!(await this.conversations.isParticipant(message.conversationId, actor.id))) return messageNotFound(messageId);
      if (message.senderId !== actor.id) return fail('NOT_MESSAGE_SENDER', 'Only the sender deletes a message');
    }
    const at = this.clock.now();
    if (!(await this.messages.softDelete(messageId, at))) return messageNotFound(messageId);
    await this.broadcaster.toConversation(message.conversationId, 'messageDeleted', {
      id: messageId,
      conversation_id: message.conversationId,
      deleted_at: at.toISOString(),
    });
    return ok({ id: messageId });
  }
}
