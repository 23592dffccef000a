import { checkMessageBody, type Message } from '../../domain/message.js';
import { fail, ok, type Result } from '../../domain/result.js';
import type { Actor } from '../../domain/user.js';
import { conversationOfParticipant, type MessageLimits } from '../access.js';
import type { ConversationRepository } from '../ports/conversation-repository.js';
import type { MessageAppender } from '../ports/fanout.js';
import type { Clock } from '../ports/services.js';
import type { SendMessageInput } from '../schemas.js';
import type { TypingIndicators } from '../typing-indicators.js';

const blocked = <T>(): Result<T> => fail('USER_BLOCKED', 'One of the two people of this direct conversation has blocked the other');

/**
 * Resolves once the message is durably stored; the appender announces it to
 * the conversation in the same step. A repeat of an earlier `client_id` (same
 * sender and conversation) returns the original and announces nothing; so
 * does, with the duplicate guard on, a send without a client id that repeats
 * the sender's message of the last `duplicateWindowMs`.
 */
export class SendMessage {
  constructor(
    private readonly conversations: ConversationRepository,
    private readonly messages: MessageAppender,
    private readonly clock: Clock,
    private readonly limits: MessageLimits,
    private readonly typing: TypingIndicators,
  ) {}

  async execute(actor: Actor, input: SendMessageInput): Promise<Result<{ message: Message; created: boolean }>> {
    const body = checkMessageBody(input.type, input.content, input.attachment ?? null, this.limits.maxContentLength);
    if (!body.ok) return body;
    const attachment = body.value;
    const access = await conversationOfParticipant(this.conversations, input.conversation_id, actor);
    if (!access.ok) return access;
    // Cached with the membership (no query per message); direct conversations only, groups are not refused.
    if (access.value.kind === 'direct' && (await this.conversations.isBlocked(input.conversation_id))) return blocked();
    const clientId = input.client_id ?? null;
    const window = this.limits.duplicateWindowMs ?? 0;
    const draft = {
      conversationId: input.conversation_id,
      senderId: actor.id,
      senderUsername: actor.username,
      content: input.content,
      type: input.type,
      attachment,
      clientId,
      createdAt: this.clock.now(),
    };
    const stored = await (clientId === null && window > 0 ? this.messages.append(draft, { duplicateWindowMs: window }) : this.messages.append(draft));
    if (stored.message === null) return fail('MESSAGE_NOT_FOUND', 'The message this send repeats has been deleted');
    if (stored.created) await this.typing.messageSent(actor, input.conversation_id);
    return ok({ message: stored.message, created: stored.created });
  }
}
