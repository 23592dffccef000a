import type { Conversation, ParticipantSummary } from '../domain/conversation.js';
import { fail, ok, type Result } from '../domain/result.js';
import type { Actor } from '../domain/user.js';
import type { ConversationRepository } from './ports/conversation-repository.js';
import type { PresenceStore } from './ports/presence-store.js';

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

/** Each participant with whether they are online now and when they were last seen. */
export async function withPresence(participants: readonly ParticipantSummary[], presence: PresenceStore): Promise<ParticipantPresence[]> {
  const status = await presence.statusOf(participants.map((p) => p.id));
  return participants.map((p) => ({ ...p, online: status.get(p.id)?.online ?? false, lastSeenAt: status.get(p.id)?.lastSeenAt ?? null }));
}

export interface ParticipantPresence extends ParticipantSummary {
  readonly online: boolean;
  readonly lastSeenAt: Date | null;
}
