import { checkMessageBody, type Attachment, type Message } from '../../domain/message.js';
import { fail, ok, type Result } from '../../domain/result.js';
import type { Actor } from '../../domain/user.js';
import { conversationOfParticipant, type MessageLimits } from '../access.js';
import type { AttachmentClaims } from '../files/attachment-claims.js';
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
 * the sender's message of the last `duplicateWindowMs`. A send naming an
 * `upload_id` claims that upload for the message (the only sends that do any
 * work for files).
 */
export class SendMessage {
  constructor(
    private readonly conversations: ConversationRepository,
    private readonly messages: MessageAppender,
    private readonly clock: Clock,
    private readonly limits: MessageLimits,
    private readonly typing: TypingIndicators,
    private readonly attachments: AttachmentClaims | null = null,
  ) {}

  async execute(actor: Actor, input: SendMessageInput): Promise<Result<{ message: Message; created: boolean }>> {
    const given = input.attachment ?? null;
    if (given !== null && 'upload_id' in given) return this.withUpload(actor, input, given.upload_id);
    const body = checkMessageBody(input.type, input.content, given, this.limits.maxContentLength);
    if (!body.ok) return body;
    const access = await conversationOfParticipant(this.conversations, input.conversation_id, actor);
    if (!access.ok) return access;
    // Cached with the membership (no query per message); direct conversations only, groups are not refused.
    if (access.value.kind === 'direct' && (await this.conversations.isBlocked(input.conversation_id))) return blocked();
    return this.store(actor, input, body.value);
  }

  private async withUpload(actor: Actor, input: SendMessageInput, uploadId: string): Promise<Result<{ message: Message; created: boolean }>> {
    const max = this.limits.maxContentLength;
    if (input.content.length > max) return fail('CONTENT_TOO_LONG', `Content is longer than ${max} characters`, { max, length: input.content.length });
    if (!this.attachments) return fail('UPLOAD_NOT_FOUND', 'This server takes no uploads');
    const access = await conversationOfParticipant(this.conversations, input.conversation_id, actor);
    if (!access.ok) return access;
    if (access.value.kind === 'direct' && (await this.conversations.isBlocked(input.conversation_id))) return blocked();
    const claimed = await this.attachments.claim(uploadId, actor.id, input.conversation_id);
    if (!claimed.ok) return claimed;
    let attached = false;
    try {
      const body = checkMessageBody(input.type, input.content, claimed.value, this.limits.maxContentLength);
      if (!body.ok) return body;
      const stored = await this.store(actor, input, body.value);
      if (stored.ok && stored.value.created) {
        await this.attachments.attach(uploadId, stored.value.message.id);
        attached = true;
      }
      return stored;
    } finally {
      if (!attached) await this.attachments.release(uploadId);
    }
  }

  private async store(actor: Actor, input: SendMessageInput, attachment: Attachment | null): Promise<Result<{ message: Message; created: boolean }>> {
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
