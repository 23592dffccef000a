import type { Message } from '../../domain/message.js';
import type { ReactionCount } from '../../domain/reaction.js';

/** Where a ranked search page ends: the last hit's rank and id. */
export interface SearchCursor {
  readonly rank: number;
  readonly id: number;
}

export interface SearchQuery {
  readonly userId: number;
  readonly text: string;
  /** Only this conversation (the caller's; checked before). */
  readonly conversationId?: number;
  readonly limit: number;
  readonly after?: SearchCursor;
}

export interface SearchHit {
  readonly message: Message;
  readonly rank: number;
  /** The content around the matches, HTML-escaped, each match in `<mark>…</mark>`. */
  readonly snippet: string;
}

export interface SearchPage {
  readonly hits: SearchHit[];
  readonly next: SearchCursor | null;
}

/** Full-text search over the live messages of the conversations a user takes part in. */
export interface MessageSearch {
  search(query: SearchQuery): Promise<SearchPage>;
}

/** What one reaction change left: the counts after it, and whether anything changed. */
export interface ReactionChange {
  readonly conversationId: number;
  readonly messageId: number;
  readonly reactions: ReactionCount[];
  readonly changed: boolean;
  readonly at: Date;
}

export type ReactOutcome = { readonly kind: 'done'; readonly change: ReactionChange } | { readonly kind: 'missing' } | { readonly kind: 'limit' };

/** Emoji reactions: one of each per user per message. */
export interface ReactionStore {
  /** Adds or removes, with `reaction.updated` in the stream when it changed something, committed together; at most `maxDistinct` emoji per message. */
  react(messageId: number, userId: number, emoji: string, adding: boolean, maxDistinct: number, at: Date): Promise<ReactOutcome>;
  /** Each message's counts, and which of them `userId` gave (messages without reactions are left out). */
  of(messageIds: readonly number[], userId: number): Promise<Map<number, ReadonlyArray<ReactionCount & { readonly me: boolean }>>>;
}

export interface ParticipantReadState {
  readonly userId: number;
  readonly username: string;
  /** The last message they read (their marker); null before their first read. */
  readonly lastReadMessageId: number | null;
}

/** Who has read how far. */
export interface ReadStates {
  ofConversation(conversationId: number): Promise<ParticipantReadState[]>;
}

export interface MessageVersion {
  readonly content: string;
  /** When this version was written (the message's creation for the first). */
  readonly createdAt: Date;
  /** When an edit replaced it. */
  readonly replacedAt: Date;
}

/** Prior versions of edited messages, written by the edit itself. */
export interface MessageHistory {
  versions(messageId: number): Promise<MessageVersion[]>;
}

/** The adapters of the features above, wired together. */
export interface ConversationFeatures {
  readonly search: MessageSearch;
  readonly reactions: ReactionStore;
  readonly readStates: ReadStates;
  readonly history: MessageHistory;
  readonly management: ConversationManagement;
}

/** A group as it is after a rename, a deletion or a restore. */
export interface ConversationChange {
  readonly conversationId: number;
  readonly title: string | null;
  readonly deleted: boolean;
  readonly participantIds: number[];
  readonly at: Date;
}

/** A group, deleted or not (for the checks before managing it). */
export interface ManagedGroup {
  readonly id: number;
  readonly kind: 'group' | 'direct';
  readonly createdBy: number;
  readonly deleted: boolean;
}

/** Renaming, deleting and restoring groups (each with `conversation.updated` in the stream, committed together), and archiving per participant. */
export interface ConversationManagement {
  findGroup(conversationId: number): Promise<ManagedGroup | null>;
  /** Null when it is not a live group. */
  rename(conversationId: number, title: string, by: number, at: Date): Promise<ConversationChange | null>;
  /** Soft-deletes or restores; null when it was already so. */
  setDeleted(conversationId: number, deleted: boolean, by: number, at: Date): Promise<ConversationChange | null>;
  /** False when the user is not a participant. */
  setArchived(conversationId: number, userId: number, archived: boolean, at: Date): Promise<boolean>;
}
