import { ok, type Result } from '../../domain/result.js';
import type { Actor } from '../../domain/user.js';
import { conversationOfParticipant } from '../access.js';
import type { ConversationRepository } from '../ports/conversation-repository.js';
import type { MessagePage, MessageRepository } from '../ports/message-repository.js';
import type { PageQueryInput } from '../schemas.js';

export class GetMessages {
  constructor(
    private readonly conversations: ConversationRepository,
    private readonly messages: MessageRepository,
  ) {}

  async execute(actor: Actor, conversationId: number, query: PageQueryInput): Promise<Result<MessagePage>> {
    const found = await conversationOfParticipant(this.conversations, conversationId, actor);
    if (!found.ok) return found;
    return ok(await this.messages.page(conversationId, query));
  }
}
