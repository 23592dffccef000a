import { ok, type Result } from '../../domain/result.js';
import type { Actor } from '../../domain/user.js';
import { conversationOfParticipant } from '../access.js';
import type { ConversationRepository } from '../ports/conversation-repository.js';
import type { TypingInput } from '../schemas.js';
import type { TypingIndicators } from '../typing-indicators.js';

/** Tells a conversation's other participants that the caller is (or stopped) typing. */
export class SendTyping {
  constructor(
    private readonly conversations: ConversationRepository,
    private readonly typing: TypingIndicators,
  ) {}

  async execute(actor: Actor, input: TypingInput): Promise<Result<{ conversation_id: number; is_typing: boolean }>> {
    const access = await conversationOfParticipant(this.conversations, input.conversation_id, actor);
    if (!access.ok) return access;
    // Blocked people see no typing from each other: answered as usual, announced to nobody (cached, no query).
    if (access.value.kind === 'direct' && (await this.conversations.isBlocked(input.conversation_id)))
      return ok({ conversation_id: input.conversation_id, is_typing: input.is_typing });
    await this.typing.set(actor, input.conversation_id, input.is_typing);
    return ok({ conversation_id: input.conversation_id, is_typing: input.is_typing });
  }
}
