import type { Message } from '../../domain/message.js';

export interface MessagePage {
  readonly messages: Message[];
  readonly hasMore: boolean;
}

export interface PageQuery {
  /** Only messages with a smaller id (older). */
  readonly before?: number;
  /** Only messages with a greater id (newer); the page then starts right after it. */
  readonly after?: number;
  readonly limit: number;
}

export interface CatchUpGroup {
  readonly conversationIds: readonly number[];
  /** Only messages with a greater id. */
  readonly afterId: number;
}

/** Messages, soft-deleted ones invisible to every finder. (New ones are stored through a MessageAppender.) */
export interface MessageRepository {
  findById(id: number): Promise<Message | null>;
  findByIds(ids: readonly number[]): Promise<Message[]>;
  /** Each conversation's highest message id (deleted ones included; absent: none). */
  latestIds(conversationIds: readonly number[]): Promise<Map<number, number>>;
  /** The oldest `limit` messages, ascending by id, in any group's conversations after that group's id. */
  newerThan(groups: readonly CatchUpGroup[], limit: number): Promise<Message[]>;
  /** Ascending by id. Without `after`, the newest page (`hasMore`: older exist); with it, the oldest after it. */
  page(conversationId: number, query: PageQuery): Promise<MessagePage>;
  /** With `message.updated` in the stream, committed together. */
  edit(id: number, content: string, at: Date): Promise<Message | null>;
  /** With `message.deleted` in the stream, committed together. */
  softDelete(id: number, at: Date): Promise<boolean>;
  /** Sets read_at on unread messages after `afterId` and up to `uptoId` that others sent; returns how many. */
  markReadBetween(conversationId: number, readerId: number, afterId: number, uptoId: number, at: Date): Promise<number>;
}
