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
  /** The first `LIST_PARTICIPANTS_MAX` participants by id. */
  readonly participants: ParticipantSummary[];
  readonly participantCount: number;
  readonly lastMessage: Message | null;
  /** Messages from others after the reader's marker, counted up to `UNREAD_COUNT_MAX`. */
  readonly unreadCount: number;
  /** When the last message was sent (or the conversation created), in microseconds: the list's order. */
  readonly activityUs: number;
}

/** Unread messages are counted up to this many (a client shows "99+"), so the count never scans history. */
export const UNREAD_COUNT_MAX = 100;
/** Participants listed with each conversation of a list; all of them are one request away. */
export const LIST_PARTICIPANTS_MAX = 50;

/** A place in the list, most recent activity first: after (older than) this conversation. */
export interface ListCursor {
  /** Microseconds since the epoch, as the database keeps it (a Date would round to milliseconds). */
  readonly activityUs: number;
  readonly conversationId: number;
}

export interface ConversationListPage {
  readonly conversations: ConversationSummary[];
  /** Where the next page starts, or null at the end. */
  readonly next: ListCursor | null;
}

/** Conversations and their (soft-deletable) participants. */
export interface ConversationRepository {
  createGroup(group: NewGroup, now: Date): Promise<Conversation>;
  /** The one direct conversation of this pair, created on first use. */
  findOrCreateDirect(a: number, b: number, now: Date): Promise<{ conversation: Conversation; created: boolean }>;
  findById(id: number): Promise<Conversation | null>;
  isParticipant(conversationId: number, userId: number): Promise<boolean>;
  participants(conversationId: number): Promise<ParticipantSummary[]>;
  /** True when the user was not a participant before; then `participant.added` is in the stream with it. */
  addParticipant(conversationId: number, userId: number, now: Date, addedBy: number): Promise<boolean>;
  /** True when the user was a participant before; then `participant.removed` is in the stream with it. */
  removeParticipant(conversationId: number, userId: number, now: Date, removedBy: number): Promise<boolean>;
  conversationIdsOf(userId: number): Promise<number[]>;
  /** The conversations of each of these users (users in none are left out). */
  conversationIdsOfUsers(userIds: readonly number[]): Promise<Map<number, number[]>>;
  /** A page of the user's conversations, most recent activity first: the ones they archived, or (by default) the others. */
  listForUser(userId: number, query: { readonly limit: number; readonly after?: ListCursor; readonly archived?: boolean }): Promise<ConversationListPage>;
  /** Moves the read marker forward only (a move is `conversation.read` in the stream); returns the marker before and the marker now in force. */
  advanceReadMarker(conversationId: number, userId: number, messageId: number, now: Date): Promise<{ previous: number; current: number }>;
  /** A direct conversation one of whose two people blocks the other (the send path asks it: cached in front). */
  isBlocked(conversationId: number): Promise<boolean>;
  /** Those of these conversations that are direct ones with a block between their two people (one query for any number). */
  blockedAmong(conversationIds: readonly number[]): Promise<Set<number>>;
  /** Either of the two users blocks the other. */
  blockedBetween(a: number, b: number): Promise<boolean>;
  /** Groups the user created since `since` (for the hourly cap). */
  countGroupsCreatedSince(userId: number, since: Date): Promise<number>;
}
