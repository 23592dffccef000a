import type { Attachment, Message, MessageType } from '../../domain/message.js';
import { date, dateOrNull, num } from './database.js';

/** Selects a message with its sender's username; the table is aliased `m`, users `u`. */
export const MESSAGE_COLUMNS = `m.id, m.conversation_id, m.sender_id, u.username AS sender_username, m.content, m.type,
  m.attachment, m.client_id, m.read_at, m.edited_at, m.created_at, m.updated_at`;

export type Row = Record<string, unknown>;

export const toMessage = (r: Row, prefix = ''): Message => ({
  id: num(r[`${prefix}id`]),
  conversationId: num(r[`${prefix}conversation_id`]),
  senderId: num(r[`${prefix}sender_id`]),
  senderUsername: String(r[`${prefix}sender_username`]),
  content: String(r[`${prefix}content`]),
  type: r[`${prefix}type`] as MessageType,
  attachment: (r[`${prefix}attachment`] as Attachment | null) ?? null,
  clientId: (r[`${prefix}client_id`] as string | null) ?? null,
  readAt: dateOrNull(r[`${prefix}read_at`]),
  editedAt: dateOrNull(r[`${prefix}edited_at`]),
  createdAt: date(r[`${prefix}created_at`]),
  updatedAt: date(r[`${prefix}updated_at`]),
});

/**
 * `m`'s rows of one conversation, written as a range so that PostgreSQL reads
 * them through the (conversation_id, id) index in that index's order. With an
 * equality, the planner drops conversation_id from ORDER BY and may walk the
 * primary key backwards instead, filtering every other conversation's rows:
 * for a conversation with few or no messages in a large table, a scan of the
 * whole table (the conversation list took 5.9 s with 1,000,000 messages
 * elsewhere). Pair it with ORDER BY m.conversation_id, m.id.
 */
export const ONE_CONVERSATION = (id: string): string => `m.conversation_id BETWEEN ${id} AND ${id}`;
