import type { Actor } from '../../domain/user.js';
import type { ConversationRepository, ConversationSummary } from '../ports/conversation-repository.js';

export class ListConversations {
  constructor(private readonly conversations: ConversationRepository) {}

  execute(actor: Actor): Promise<ConversationSummary[]> {
    return this.conversations.listForUser(actor.id);
  }
}
