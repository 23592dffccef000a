import type { Conversation, ParticipantSummary } from '../domain/conversation.js';
import { fail, ok, type Result } from '../domain/result.js';
import type { Actor } from '../domain/user.js';
import type { ConversationRepository } from './ports/conversation-repository.js';
import type { PresenceStore } from './ports/presence-store.js';

/**
 * The one answer for a conversation the caller may not see: the same whether
 * it exists or not, so nobody learns of conversations they are not in.
 */
export const conversationNotFound = <T = never>(conversationId: number): Result<T> =>
  fail('CONVERSATION_NOT_FOUND', `Conversation ${conversationId} does not exist`);

/** The same for a message in such a conversation. */
export const messageNotFound = <T = never>(messageId: number): Result<T> => fail('MESSAGE_NOT_FOUND', `Message ${messageId} does not exist`);

/** The conversation, provided the actor takes part in it (otherwise, as if it did not exist). */
export async function conversationOfParticipant(conversations: ConversationRepository, conversationId: number, actor: Actor): Promise<Result<Conversation>> {
  const [conversation, member] = await Promise.all([conversations.findById(conversationId), conversations.isParticipant(conversationId, actor.id)]);
  if (!conversation || !member) return conversationNotFound(conversationId);
  return ok(conversation);
}

export interface MessageLimits {
  /** Longest message content, in characters. */
  readonly maxContentLength: number;
  /** The duplicate guard's window for sends without a client id (see `AppendOptions`); 0 is off. @default 0 */
  readonly duplicateWindowMs?: number;
}

/** Each participant with whether they are online now and when they were last seen. */
export async function withPresence(participants: readonly ParticipantSummary[], presence: PresenceStore): Promise<ParticipantPresence[]> {
  const status = await presence.statusOf(participants.map((p) => p.id));
  return participants.map((p) => ({ ...p, online: status.get(p.id)?.online ?? false, lastSeenAt: status.get(p.id)?.lastSeenAt ?? null }));
}

/**
 * The participants with presence, as the caller may see it: in a direct
 * conversation with a block between its two people, the other one is shown
 * offline and never seen (the block state is cached with the membership).
 */
export async function presenceFor(
  conversations: ConversationRepository,
  conversation: Conversation,
  participants: readonly ParticipantSummary[],
  presence: PresenceStore,
  callerId: number,
): Promise<ParticipantPresence[]> {
  if (conversation.kind === 'direct' && (await conversations.isBlocked(conversation.id))) {
    const own = await withPresence(
      participants.filter((p) => p.id === callerId),
      presence,
    );
    return participants.map((p) => own.find((o) => o.id === p.id) ?? { ...p, online: false, lastSeenAt: null });
  }
  return withPresence(participants, presence);
}

export interface ParticipantPresence extends ParticipantSummary {
  readonly online: boolean;
  readonly lastSeenAt: Date | null;
}
