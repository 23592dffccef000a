import type { Actor, Role } from './user.js';
import { fail, ok, type Result } from './result.js';

export type ConversationKind = 'direct' | 'group';

export interface Conversation {
  readonly id: number;
  readonly title: string | null;
  readonly kind: ConversationKind;
  readonly isOpen: boolean;
  readonly createdBy: number;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export interface ParticipantSummary {
  readonly id: number;
  readonly username: string;
  /** Where the store read them (participant lists): shown beside the username. */
  readonly displayName?: string | null;
  readonly role?: Role;
  readonly pictureUrl?: string | null;
}

/** A direct conversation is unique per unordered pair of users. */
export const directKey = (a: number, b: number): string => (a < b ? `${a}:${b}` : `${b}:${a}`);

/**
 * Who may add `userId` to a conversation: anyone may join an open group;
 * any participant of a group may add others; direct conversations never change.
 */
export function canAddParticipant(conversation: Conversation, actor: Actor, actorIsParticipant: boolean, userId: number): Result<true> {
  if (conversation.kind !== 'group') return fail('NOT_A_GROUP', 'Direct conversations have exactly two participants');
  if (userId === actor.id) {
    if (actorIsParticipant || conversation.isOpen || actor.isStaff) return ok(true);
    return fail('CONVERSATION_CLOSED', 'This conversation is not open to join');
  }
  if (actorIsParticipant || actor.isStaff) return ok(true);
  return fail('NOT_A_PARTICIPANT', 'You are not a participant of this conversation');
}

/** Anyone may remove themselves from a group; only its creator or staff remove others. */
export function canRemoveParticipant(conversation: Conversation, actor: Actor, userId: number): Result<true> {
  if (conversation.kind !== 'group') return fail('NOT_A_GROUP', 'Participants cannot leave a direct conversation');
  if (userId === actor.id || actor.id === conversation.createdBy || actor.isStaff) return ok(true);
  return fail('FORBIDDEN', 'Only the creator of the group removes other participants');
}
