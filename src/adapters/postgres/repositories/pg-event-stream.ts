import { QueryTypes, type Sequelize } from 'sequelize';
import {
  REPLAYED_AS,
  type EventStream,
  type ReplayedType,
  type StreamEvent,
  type StreamEventType,
  type StreamPage,
} from '../../../application/ports/event-stream.js';
import { messageView } from '../../../application/views.js';
import { date, num } from '../database.js';
import { MESSAGE_COLUMNS, toMessage, type Row } from './message-row.js';

const REPLAYED = Object.keys(REPLAYED_AS) as ReplayedType[];

/** Which conversations a read covers: one, the user's, or all. */
type Scope = { kind: 'conversation'; id: number } | { kind: 'user'; id: number } | { kind: 'all' };

/**
 * One table's rows of the scope after the cursor, at most `$limit`, in id
 * order. Per conversation it walks that conversation's (conversation_id, id)
 * index from the cursor (see ONE_CONVERSATION in message-row.ts), so a user's
 * read costs a probe per conversation whatever the table holds; across all
 * conversations it walks the primary key from the cursor.
 */
function rowsOf(scope: Scope, table: 'messages' | 'conversation_events', columns: string, where: string): string {
  const after = `x.id > $after AND x.id <= $upto::bigint AND ${where}`;
  const oneConversation = (id: string) =>
    `SELECT ${columns} FROM ${table} x WHERE x.conversation_id BETWEEN ${id} AND ${id} AND ${after} ORDER BY x.conversation_id, x.id LIMIT $limit`;
  switch (scope.kind) {
    case 'conversation':
      return oneConversation('$scope::int');
    case 'user':
      return `SELECT y.* FROM conversation_participants p
        JOIN LATERAL (${oneConversation('p.conversation_id')}) y ON true
        WHERE p.user_id = $scope::int AND p.deleted_at IS NULL ORDER BY y.id LIMIT $limit`;
    case 'all':
      return `SELECT ${columns} FROM ${table} x WHERE ${after} ORDER BY x.id LIMIT $limit`;
  }
}

/**
 * The stream is messages (their creation) and conversation_events (every
 * other kind), merged by id; see migration 20261203200000. A message's view
 * is built from its row (with an edit's content as it was then); a deleted
 * message's creation is not replayed, its deletion is.
 */
export class PgEventStream implements EventStream {
  constructor(private readonly sequelize: Sequelize) {}

  conversation(conversationId: number, after: number, limit: number): Promise<StreamPage> {
    // Within a conversation commit order is id order: no horizon needed.
    return this.read({ kind: 'conversation', id: conversationId }, after, limit, REPLAYED, false);
  }

  ofUser(userId: number, after: number, limit: number): Promise<StreamPage> {
    return this.read({ kind: 'user', id: userId }, after, limit, REPLAYED, true);
  }

  all(after: number, limit: number, types: readonly StreamEventType[]): Promise<StreamPage> {
    return this.read({ kind: 'all' }, after, limit, types, true);
  }

  async horizon(): Promise<number> {
    const [row] = await this.sequelize.query<Row>('SELECT stream_horizon() AS id', { type: QueryTypes.SELECT });
    return num(row?.id);
  }

  private async read(scope: Scope, after: number, limit: number, types: readonly StreamEventType[], bounded: boolean): Promise<StreamPage> {
    const created = types.includes('message.created');
    const others = types.filter((t) => t !== 'message.created');
    if (!created && others.length === 0) return { events: [], next: after, hasMore: false };
    const branches: string[] = [];
    if (created)
      branches.push(
        `(${rowsOf(scope, 'messages', `x.id, x.conversation_id, 'message.created'::text AS type, NULL::jsonb AS data, x.created_at, x.id AS message_id`, 'x.deleted_at IS NULL')})`,
      );
    if (others.length > 0)
      branches.push(
        `(${rowsOf(scope, 'conversation_events', `x.id, x.conversation_id, x.type, x.data, x.created_at, (x.data->>'message_id')::bigint AS message_id`, 'x.type = ANY($types)')})`,
      );
    // The horizon first, in its own statement: the read's snapshot, taken after it, then sees every id up to it.
    const upto = bounded ? await this.horizon() : Number.MAX_SAFE_INTEGER;
    const rows = await this.sequelize.query<Row>(
      `SELECT s.id AS event_id, s.conversation_id AS event_conversation_id, s.type AS event_type, s.data AS event_data, s.created_at AS event_created_at,
         ${MESSAGE_COLUMNS}, m.deleted_at AS message_deleted_at
       FROM (SELECT * FROM (${branches.join(' UNION ALL ')}) b ORDER BY b.id LIMIT $limit) s
       LEFT JOIN messages m ON m.id = s.message_id LEFT JOIN users u ON u.id = m.sender_id
       ORDER BY s.id`,
      { bind: { scope: scope.kind === 'all' ? null : scope.id, after, upto, limit: limit + 1, types: others }, type: QueryTypes.SELECT },
    );
    const hasMore = rows.length > limit;
    const page = rows.slice(0, limit);
    const events = page.flatMap((r) => eventOf(r) ?? []);
    // A bounded read that found nothing moves on to the horizon: nothing at or below it can appear any more.
    const last = page.at(-1);
    const next = last ? num(last.event_id) : bounded ? Math.max(after, upto) : after;
    return { events, next, hasMore };
  }
}

/** One row as the event it is; null for an event about a message deleted since. */
function eventOf(r: Row): StreamEvent | null {
  const type = String(r.event_type) as StreamEventType;
  const base = { id: num(r.event_id), conversationId: num(r.event_conversation_id), type, createdAt: date(r.event_created_at) };
  const stored = (r.event_data ?? {}) as Record<string, unknown>;
  // A deleted message's content is gone from every read: its edits and notices are not replayed either.
  const hasMessage = r.id !== null && r.id !== undefined && (r.message_deleted_at === null || r.message_deleted_at === undefined);
  switch (type) {
    case 'message.created':
      return hasMessage ? { ...base, data: messageView(toMessage(r)) } : null;
    case 'message.updated': {
      if (!hasMessage) return null;
      const editedAt = date(stored.edited_at);
      return { ...base, data: messageView({ ...toMessage(r), content: String(stored.content), editedAt, updatedAt: editedAt }) };
    }
    case 'message.unread':
      return hasMessage ? { ...base, data: { message: messageView(toMessage(r)), user_ids: stored.user_ids } } : null;
    default:
      return { ...base, data: stored };
  }
}
