import { checkMessageBody, type Message } from '../../domain/message.js';
import { fail, ok, type Result } from '../../domain/result.js';
import type { Actor } from '../../domain/user.js';
import { messageNotFound, type MessageLimits } from '../access.js';
import type { Broadcaster } from '../ports/fanout.js';
import type { ConversationRepository } from '../ports/conversation-repository.js';
import type { MessageRepository } from '../ports/message-repository.js';
import type { Clock } from '../ports/services.js';
import type { EditMessageInput } from '../schemas.js';
import { messageView } from '../views.js';

/** Only the sender edits a message, and only while still a participant. */
export class EditMessage {
  constructor(
    private readonly conversations: ConversationRepository,
    private readonly messages: MessageRepository,
    private readonly broadcaster: Broadcaster,
    private readonly clock: Clock,
    private readonly limits: MessageLimits,
  ) {}

  async execute(actor: Actor, input: EditMessageInput): Promise<Result<Message>> {
    const message = await this.messages.findById(input.message_id);
    if (!message || !(await this.conversations.isParticipant(message.conversationId, actor.id))) return messageNotFound(input.message_id);
    if (message.senderId !== actor.id) return fail('NOT_MESSAGE_SENDER', 'Only the sender edits a message');
    const body = checkMessageBody(message.type, input.content, message.attachment, this.limits.maxContentLength);
    if (!body.ok) return body;
    const edited = await this.messages.edit(message.id, input.content, this.clock.now());
    if (!edited) return messageNotFound(input.message_id);
    await this.broadcaster.toConversation(edited.conversationId, 'messageUpdated', messageView(edited));
    return ok(edited);
  }
}
