import { QueryTypes, type Sequelize } from 'sequelize';
import type { Message } from '../../../domain/message.js';
import type { CatchUpGroup, MessagePage, MessageRepository, PageQuery } from '../../../application/ports/message-repository.js';
import { num } from '../database.js';
import { MESSAGE_COLUMNS, ONE_CONVERSATION, toMessage, type Row } from './message-row.js';

export class SequelizeMessageRepository implements MessageRepository {
  constructor(private readonly sequelize: Sequelize) {}

  async findById(id: number): Promise<Message | null> {
    const [row] = await this.select(`SELECT ${MESSAGE_COLUMNS} FROM messages m JOIN users u ON u.id = m.sender_id WHERE m.id = $1 AND m.deleted_at IS NULL`, [
      id,
    ]);
    return row ? toMessage(row) : null;
  }

  async findByIds(ids: readonly number[]): Promise<Message[]> {
    if (ids.length === 0) return [];
    const rows = await this.select(
      `SELECT ${MESSAGE_COLUMNS} FROM messages m JOIN users u ON u.id = m.sender_id WHERE m.id = ANY($1::bigint[]) AND m.deleted_at IS NULL ORDER BY m.id`,
      [ids],
    );
    return rows.map((r) => toMessage(r));
  }

  async latestIds(conversationIds: readonly number[]): Promise<Map<number, number>> {
    if (conversationIds.length === 0) return new Map();
    // One backward probe of the conversation index per conversation.
    const rows = await this.select(
      `SELECT g.id AS conversation_id, (SELECT max(m.id) FROM messages m WHERE ${ONE_CONVERSATION('g.id')}) AS latest
       FROM unnest($1::int[]) AS g(id)`,
      [conversationIds],
    );
    return new Map(rows.filter((r) => r.latest !== null).map((r) => [Number(r.conversation_id), Number(r.latest)]));
  }

  async newerThan(groups: readonly CatchUpGroup[], limit: number): Promise<Message[]> {
    if (groups.length === 0) return [];
    // One index range scan per conversation, from its group's cursor.
    const rows = await this.select(
      `SELECT ${MESSAGE_COLUMNS}
       FROM unnest($1::int[], $2::bigint[]) AS g(conversation_id, after_id)
       JOIN LATERAL (
         SELECT * FROM messages m WHERE ${ONE_CONVERSATION('g.conversation_id')} AND m.id > g.after_id AND m.deleted_at IS NULL
         ORDER BY m.conversation_id, m.id LIMIT $3
       ) m ON true
       JOIN users u ON u.id = m.sender_id
       ORDER BY m.id LIMIT $3`,
      [groups.flatMap((g) => g.conversationIds), groups.flatMap((g) => g.conversationIds.map(() => g.afterId)), limit],
    );
    return rows.map((r) => toMessage(r));
  }

  async page(conversationId: number, query: PageQuery): Promise<MessagePage> {
    const newestFirst = query.after === undefined;
    const rows = await this.select(
      `SELECT ${MESSAGE_COLUMNS} FROM messages m JOIN users u ON u.id = m.sender_id
       WHERE ${ONE_CONVERSATION('$1::int')} AND m.deleted_at IS NULL
         AND ($2::bigint IS NULL OR m.id < $2) AND ($3::bigint IS NULL OR m.id > $3)
       ORDER BY m.conversation_id ${newestFirst ? 'DESC' : 'ASC'}, m.id ${newestFirst ? 'DESC' : 'ASC'} LIMIT $4`,
      [conversationId, query.before ?? null, query.after ?? null, query.limit + 1],
    );
    const hasMore = rows.length > query.limit;
    const messages = rows.slice(0, query.limit).map((r) => toMessage(r));
    if (newestFirst) messages.reverse();
    return { messages, hasMore };
  }

  async edit(id: number, content: string, at: Date): Promise<Message | null> {
    // The edit, the version it replaces (migration 20261204000300) and its stream event commit together (migration 20261203200000).
    const [row] = await this.select(
      `WITH old AS (SELECT id, content, coalesce(edited_at, created_at) AS since FROM messages WHERE id = $1 AND deleted_at IS NULL FOR UPDATE),
       m AS (UPDATE messages SET content = $2, edited_at = $3, updated_at = $3 FROM old WHERE messages.id = old.id RETURNING messages.*),
       version AS (INSERT INTO message_versions (message_id, content, created_at, replaced_at) SELECT old.id, old.content, old.since, $3 FROM old JOIN m ON m.id = old.id),
       event AS (SELECT record_conversation_event(m.conversation_id, 'message.updated', $4::jsonb) AS id FROM m)
       SELECT ${MESSAGE_COLUMNS}, (SELECT id FROM event) AS event_id FROM m JOIN users u ON u.id = m.sender_id`,
      [id, content, at, JSON.stringify({ message_id: id, content, edited_at: at.toISOString() })],
    );
    return row ? toMessage(row) : null;
  }

  async softDelete(id: number, at: Date): Promise<boolean> {
    const rows = await this.select(
      `WITH m AS (UPDATE messages SET deleted_at = $2, updated_at = $2 WHERE id = $1 AND deleted_at IS NULL RETURNING id, conversation_id)
       SELECT m.id, record_conversation_event(m.conversation_id, 'message.deleted',
         jsonb_build_object('id', m.id, 'conversation_id', m.conversation_id, 'deleted_at', $3::text)) AS event_id FROM m`,
      [id, at, at.toISOString()],
    );
    return rows.length > 0;
  }

  async markReadBetween(conversationId: number, readerId: number, afterId: number, uptoId: number, at: Date): Promise<number> {
    // Bounded by the two markers, on the conversation index (see migration 20261203080000).
    const [row] = await this.select('SELECT messages_mark_read($1, $2, $3, $4, $5) AS n', [conversationId, readerId, afterId, uptoId, at]);
    return num(row?.n);
  }

  private select(sql: string, bind: unknown[]): Promise<Row[]> {
    return this.sequelize.query<Row>(sql, { bind, type: QueryTypes.SELECT });
  }
}
