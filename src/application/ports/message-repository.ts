import type { Message, MessageDraft } from '../../domain/message.js';

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

/** Messages, soft-deleted ones invisible to every finder. */
export interface MessageRepository {
  /**
   * Stores a message durably before resolving. A draft whose (sender, client id)
   * was stored before resolves to the stored message with `created: false`.
   */
  append(draft: MessageDraft): Promise<{ message: Message; created: boolean }>;
  findById(id: number): Promise<Message | null>;
  /** Ascending by id. Without `after`, the newest page (`hasMore`: older exist); with it, the oldest after it. */
  page(conversationId: number, query: PageQuery): Promise<MessagePage>;
  edit(id: number, content: string, at: Date): Promise<Message | null>;
  softDelete(id: number, at: Date): Promise<boolean>;
  /** Sets read_at on unread messages up to `messageId` that others sent; returns how many. */
  markReadUpTo(conversationId: number, readerId: number, messageId: number, at: Date): Promise<number>;
}
