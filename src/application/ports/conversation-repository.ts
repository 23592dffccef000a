import type { Conversation, ParticipantSummary } from '../../domain/conversation.js';
import type { Message } from '../../domain/message.js';

export interface NewGroup {
  readonly title: string | null;
  readonly isOpen: boolean;
  readonly createdBy: number;
  /** Everyone in the group, the creator included. */
  readonly participantIds: readonly number[];
}

export interface ConversationSummary {
  readonly conversation: Conversation;
  readonly participants: ParticipantSummary[];
  readonly lastMessage: Message | null;
  readonly unreadCount: number;
}

/** Conversations and their (soft-deletable) participants. */
export interface ConversationRepository {
  createGroup(group: NewGroup, now: Date): Promise<Conversation>;
  /** The one direct conversation of this pair, created on first use. */
  findOrCreateDirect(a: number, b: number, now: Date): Promise<{ conversation: Conversation; created: boolean }>;
  findById(id: number): Promise<Conversation | null>;
  isParticipant(conversationId: number, userId: number): Promise<boolean>;
  participants(conversationId: number): Promise<ParticipantSummary[]>;
  /** True when the user was not a participant before. */
  addParticipant(conversationId: number, userId: number, now: Date): Promise<boolean>;
  /** True when the user was a participant before. */
  removeParticipant(conversationId: number, userId: number, now: Date): Promise<boolean>;
  conversationIdsOf(userId: number): Promise<number[]>;
  /** The conversations of each of these users (users in none are left out). */
  conversationIdsOfUsers(userIds: readonly number[]): Promise<Map<number, number[]>>;
  /** The user's conversations, most recent activity first. */
  listForUser(userId: number): Promise<ConversationSummary[]>;
  /** Moves the read marker forward only; returns the marker now in force. */
  advanceReadMarker(conversationId: number, userId: number, messageId: number, now: Date): Promise<number>;
}
