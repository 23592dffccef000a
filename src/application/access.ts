import type { Conversation } from '../domain/conversation.js';
import { fail, ok, type Result } from '../domain/result.js';
import type { Actor } from '../domain/user.js';
import type { ConversationRepository } from './ports/conversation-repository.js';

/** The conversation, provided the actor takes part in it. */
export async function conversationOfParticipant(
  conversations: ConversationRepository,
  conversationId: number,
  actor: Actor,
): Promise<Result<Conversation>> {
  const [conversation, member] = await Promise.all([
    conversations.findById(conversationId),
    conversations.isParticipant(conversationId, actor.id),
  ]);
  if (!conversation) return fail('CONVERSATION_NOT_FOUND', `Conversation ${conversationId} does not exist`);
  if (!member) return fail('NOT_A_PARTICIPANT', 'You are not a participant of this conversation');
  return ok(conversation);
}

export interface MessageLimits {
  /** Longest message content, in characters. */
  readonly maxContentLength: number;
}
