import type { Attachment, Message, MessageType } from '../../../domain/message.js';
import { date, dateOrNull, num } from '../database.js';

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
 * `m`'s rows of one conversation, for every query whose cost could follow a
 * conversation's history (the list's latest message and unread count, history
 * pages, catch-up; the duplicate guard walks its own index by the same rule,
 * see migration 20261203080100). Such a query must walk the
 * (conversation_id, id) index however the statistics are skewed, and its shape
 * makes that the only cheap plan rather than the likely one:
 * - A range, not an equality. With `conversation_id = x` the planner knows the
 *   column is constant, drops it from the ORDER BY, and the primary key then
 *   gives the same order: with one conversation holding most rows, it walked
 *   the primary key (or the whole table) filtering them, once per conversation
 *   (952,381 rows removed per loop: seconds for a list of 21 conversations).
 * - ORDER BY m.conversation_id, m.id (or both DESC) with a LIMIT. That order
 *   is the conversation index's alone: any other path must read and sort every
 *   row of the conversation that matches before returning the first, while the
 *   index path stops after LIMIT rows, so its estimate is bounded by the LIMIT.
 *   One estimate still tips it: fewer matching rows expected than the LIMIT,
 *   where a bitmap scan of the same index and a sort cost the same on paper
 *   (and read the whole conversation if the estimate is wrong). The list's
 *   subqueries and catch-up are planned for any conversation (0.5% of the
 *   table: above their LIMIT from 20,000 rows on); a history page of one
 *   conversation the statistics think small is the case left to the planner.
 * Where that case is likely or there is no LIMIT, the statement runs in a
 * function with sorting turned off, so the index's order is the one plan: the
 * read marker (migration 20261203080000) and the duplicate guard
 * (20261203080100). tests/integration/query-plans.test.ts checks the plans all
 * of these run with, in a table where one conversation holds 1,000,000 rows.
 */
export const ONE_CONVERSATION = (id: string): string => `m.conversation_id BETWEEN ${id} AND ${id}`;
