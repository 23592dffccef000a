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

const scopeFilter = (scope: Scope, column: string): string =>
  scope.kind === 'conversation'
    ? `${column} BETWEEN $scope::int AND $scope::int`
    : scope.kind === 'user'
      ? `${column} IN (SELECT p.conversation_id FROM conversation_participants p WHERE p.user_id = $scope::int AND p.deleted_at IS NULL)`
      : 'true';

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
      branches.push(`(SELECT m.id, m.conversation_id, 'message.created'::text AS type, NULL::jsonb AS data, m.created_at, m.id AS message_id
        FROM messages m, upto WHERE ${scopeFilter(scope, 'm.conversation_id')} AND m.id > $after AND m.id <= upto.id AND m.deleted_at IS NULL
        ORDER BY ${scope.kind === 'conversation' ? 'm.conversation_id, ' : ''}m.id LIMIT $limit)`);
    if (others.length > 0)
      branches.push(`(SELECT e.id, e.conversation_id, e.type, e.data, e.created_at, (e.data->>'message_id')::bigint AS message_id
        FROM conversation_events e, upto WHERE ${scopeFilter(scope, 'e.conversation_id')} AND e.id > $after AND e.id <= upto.id AND e.type = ANY($types)
        ORDER BY ${scope.kind === 'conversation' ? 'e.conversation_id, ' : ''}e.id LIMIT $limit)`);
    // The horizon comes from a statement of its own, before the read: a statement's snapshot is taken when it starts, so
    // a write that stream_horizon() waited for inside the read itself would be under the horizon yet invisible, and skipped.
    const horizon = bounded ? await this.horizon() : null;
    const rows = await this.sequelize.query<Row>(
      `WITH upto AS MATERIALIZED (SELECT ${bounded ? '$horizon::bigint' : `'9223372036854775807'::bigint`} AS id)
       SELECT s.id AS event_id, s.conversation_id AS event_conversation_id, s.type AS event_type, s.data AS event_data, s.created_at AS event_created_at,
         ${MESSAGE_COLUMNS}, (SELECT id FROM upto) AS horizon
       FROM (SELECT * FROM (${branches.join(' UNION ALL ')}) b ORDER BY b.id LIMIT $limit) s
       LEFT JOIN messages m ON m.id = s.message_id LEFT JOIN users u ON u.id = m.sender_id
       ORDER BY s.id`,
      {
        bind: { scope: scope.kind === 'all' ? null : scope.id, after, limit: limit + 1, types: others, ...(horizon === null ? {} : { horizon }) },
        type: QueryTypes.SELECT,
      },
    );
    const hasMore = rows.length > limit;
    const page = rows.slice(0, limit);
    const events = page.flatMap((r) => eventOf(r) ?? []);
    // A bounded read that found nothing may still move on to the horizon: nothing below it can appear any more.
    const last = page.at(-1);
    const next = last ? num(last.event_id) : horizon !== null ? Math.max(after, horizon) : after;
    return { events, next, hasMore };
  }
}

/** One row as the event it is; null for an event about a message that no longer exists at all. */
function eventOf(r: Row): StreamEvent | null {
  const type = String(r.event_type) as StreamEventType;
  const base = { id: num(r.event_id), conversationId: num(r.event_conversation_id), type, createdAt: date(r.event_created_at) };
  const stored = (r.event_data ?? {}) as Record<string, unknown>;
  const hasMessage = r.id !== null && r.id !== undefined;
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
