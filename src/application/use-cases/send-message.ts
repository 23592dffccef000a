import { checkMessageBody, type Message } from '../../domain/message.js';
import { ok, type Result } from '../../domain/result.js';
import type { Actor } from '../../domain/user.js';
import { conversationOfParticipant, type MessageLimits } from '../access.js';
import type { Broadcaster } from '../ports/broadcaster.js';
import type { ConversationRepository } from '../ports/conversation-repository.js';
import type { MessageRepository } from '../ports/message-repository.js';
import type { Clock } from '../ports/services.js';
import type { SendMessageInput } from '../schemas.js';
import { messageView } from '../views.js';

/**
 * Resolves once the message is durably stored; only then is it broadcast. A
 * repeat of an earlier `client_id` returns the original and broadcasts nothing.
 */
export class SendMessage {
  constructor(
    private readonly conversations: ConversationRepository,
    private readonly messages: MessageRepository,
    private readonly broadcaster: Broadcaster,
    private readonly clock: Clock,
    private readonly limits: MessageLimits,
  ) {}

  async execute(actor: Actor, input: SendMessageInput): Promise<Result<{ message: Message; created: boolean }>> {
    const attachment = input.attachment ?? null;
    const body = checkMessageBody(input.type, input.content, attachment, this.limits.maxContentLength);
    if (!body.ok) return body;
    const access = await conversationOfParticipant(this.conversations, input.conversation_id, actor);
    if (!access.ok) return access;
    const stored = await this.messages.append({
      conversationId: input.conversation_id,
      senderId: actor.id,
      senderUsername: actor.username,
      content: input.content,
      type: input.type,
      attachment,
      clientId: input.client_id ?? null,
      createdAt: this.clock.now(),
    });
    if (stored.created) {
      await this.broadcaster.toConversation(input.conversation_id, 'receiveMessage', messageView(stored.message));
    }
    return ok(stored);
  }
}
