import type { Conversation, ParticipantSummary } from '../../domain/conversation.js';
import { ok, type Result } from '../../domain/result.js';
import type { Actor } from '../../domain/user.js';
import { conversationOfParticipant } from '../access.js';
import type { ConversationRepository } from '../ports/conversation-repository.js';

export class GetConversation {
  constructor(private readonly conversations: ConversationRepository) {}

  async execute(actor: Actor, conversationId: number): Promise<Result<{ conversation: Conversation; participants: ParticipantSummary[] }>> {
    const found = await conversationOfParticipant(this.conversations, conversationId, actor);
    if (!found.ok) return found;
    return ok({ conversation: found.value, participants: await this.conversations.participants(conversationId) });
  }
}
