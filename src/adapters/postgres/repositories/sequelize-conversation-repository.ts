import { QueryTypes, UniqueConstraintError, type Sequelize, type Transaction } from 'sequelize';
import { directKey, type Conversation, type ConversationKind, type ParticipantSummary } from '../../../domain/conversation.js';
import {
  LIST_PARTICIPANTS_MAX,
  UNREAD_COUNT_MAX,
  type ConversationListPage,
  type ConversationRepository,
  type ListCursor,
  type NewGroup,
} from '../../../application/ports/conversation-repository.js';
import type { Role } from '../../../domain/user.js';
import { date, num } from '../database.js';
import { ONE_CONVERSATION, toMessage, type Row } from './message-row.js';

const COLUMNS = 'c.id, c.title, c.kind, c.is_open, c.created_by, c.created_at, c.updated_at';

const toConversation = (r: Row): Conversation => ({
  id: num(r.id),
  title: (r.title as string | null) ?? null,
  kind: r.kind as ConversationKind,
  isOpen: Boolean(r.is_open),
  createdBy: num(r.created_by),
  createdAt: date(r.created_at),
  updatedAt: date(r.updated_at),
});

export class SequelizeConversationRepository implements ConversationRepository {
  constructor(private readonly sequelize: Sequelize) {}

  createGroup(group: NewGroup, now: Date): Promise<Conversation> {
    return this.sequelize.transaction((transaction) => this.insert(transaction, { ...group, kind: 'group', directKey: null }, now));
  }

  async findOrCreateDirect(a: number, b: number, now: Date): Promise<{ conversation: Conversation; created: boolean }> {
    const key = directKey(a, b);
    const existing = await this.findDirect(key);
    if (existing) return { conversation: existing, created: false };
    try {
      const conversation = await this.sequelize.transaction((transaction) =>
        this.insert(transaction, { title: null, isOpen: false, createdBy: a, participantIds: [a, b], kind: 'direct', directKey: key }, now),
      );
      return { conversation, created: true };
    } catch (error) {
      // Both users asked at once: the other request created it.
      if (!(error instanceof UniqueConstraintError)) throw error;
      const raced = await this.findDirect(key);
      if (!raced) throw error;
      return { conversation: raced, created: false };
    }
  }

  async findById(id: number): Promise<Conversation | null> {
    const [row] = await this.select<Row>(`SELECT ${COLUMNS} FROM conversations c WHERE c.id = $1 AND c.deleted_at IS NULL`, [id]);
    return row ? toConversation(row) : null;
  }

  async isParticipant(conversationId: number, userId: number): Promise<boolean> {
    const rows = await this.select('SELECT 1 FROM conversation_participants WHERE conversation_id = $1 AND user_id = $2 AND deleted_at IS NULL', [
      conversationId,
      userId,
    ]);
    return rows.length > 0;
  }

  async participants(conversationId: number): Promise<ParticipantSummary[]> {
    const rows = await this.select<Row>(
      `SELECT u.id, u.username, u.display_name, u.role, u.profile_picture FROM conversation_participants p JOIN users u ON u.id = p.user_id AND u.deleted_at IS NULL
       WHERE p.conversation_id = $1 AND p.deleted_at IS NULL ORDER BY u.id`,
      [conversationId],
    );
    return rows.map((r) => ({
      id: num(r.id),
      username: String(r.username),
      displayName: (r.display_name as string | null) ?? null,
      role: r.role as Role,
      pictureUrl: (r.profile_picture as string | null) ?? null,
    }));
  }

  async isBlocked(conversationId: number): Promise<boolean> {
    const rows = await this.select(
      `SELECT 1 FROM conversations c
       JOIN conversation_participants a ON a.conversation_id = c.id AND a.deleted_at IS NULL
       JOIN user_blocks b ON b.blocker_id = a.user_id
       JOIN conversation_participants o ON o.conversation_id = c.id AND o.user_id = b.blocked_id AND o.deleted_at IS NULL
       WHERE c.id = $1 AND c.kind = 'direct' LIMIT 1`,
      [conversationId],
    );
    return rows.length > 0;
  }

  async blockedAmong(conversationIds: readonly number[]): Promise<Set<number>> {
    if (conversationIds.length === 0) return new Set();
    const rows = await this.select<Row>(
      `SELECT DISTINCT c.id FROM conversations c
       JOIN conversation_participants a ON a.conversation_id = c.id AND a.deleted_at IS NULL
       JOIN user_blocks b ON b.blocker_id = a.user_id
       JOIN conversation_participants o ON o.conversation_id = c.id AND o.user_id = b.blocked_id AND o.deleted_at IS NULL
       WHERE c.id = ANY($1::int[]) AND c.kind = 'direct'`,
      [conversationIds],
    );
    return new Set(rows.map((r) => num(r.id)));
  }

  async blockedBetween(a: number, b: number): Promise<boolean> {
    const rows = await this.select('SELECT 1 FROM user_blocks WHERE (blocker_id = $1 AND blocked_id = $2) OR (blocker_id = $2 AND blocked_id = $1) LIMIT 1', [
      a,
      b,
    ]);
    return rows.length > 0;
  }

  async addParticipant(conversationId: number, userId: number, now: Date, addedBy: number): Promise<boolean> {
    // Re-adding someone who left revives their row (the primary key is the pair); the change and its stream event commit together.
    const rows = await this.select(
      `WITH p AS (
         INSERT INTO conversation_participants (conversation_id, user_id, created_at, updated_at) VALUES ($1, $2, $3, $3)
         ON CONFLICT (conversation_id, user_id) DO UPDATE SET deleted_at = NULL, updated_at = $3, last_read_message_id = NULL
           WHERE conversation_participants.deleted_at IS NOT NULL
         RETURNING conversation_id, user_id
       )
       SELECT record_conversation_event(p.conversation_id, 'participant.added', jsonb_build_object(
         'conversation_id', p.conversation_id, 'user', jsonb_build_object('id', u.id, 'username', u.username), 'added_by', $4::int)) AS event_id
       FROM p JOIN users u ON u.id = p.user_id`,
      [conversationId, userId, now, addedBy],
    );
    return rows.length > 0;
  }

  async removeParticipant(conversationId: number, userId: number, now: Date, removedBy: number): Promise<boolean> {
    const rows = await this.select(
      `WITH p AS (
         UPDATE conversation_participants SET deleted_at = $3, updated_at = $3
         WHERE conversation_id = $1 AND user_id = $2 AND deleted_at IS NULL RETURNING conversation_id, user_id
       )
       SELECT record_conversation_event(p.conversation_id, 'participant.removed',
         jsonb_build_object('conversation_id', p.conversation_id, 'user_id', p.user_id, 'removed_by', $4::int)) AS event_id FROM p`,
      [conversationId, userId, now, removedBy],
    );
    return rows.length > 0;
  }

  async conversationIdsOf(userId: number): Promise<number[]> {
    const rows = await this.select<Row>(
      `SELECT p.conversation_id FROM conversation_participants p
       JOIN conversations c ON c.id = p.conversation_id AND c.deleted_at IS NULL
       WHERE p.user_id = $1 AND p.deleted_at IS NULL ORDER BY p.conversation_id`,
      [userId],
    );
    return rows.map((r) => num(r.conversation_id));
  }

  async conversationIdsOfUsers(userIds: readonly number[]): Promise<Map<number, number[]>> {
    if (userIds.length === 0) return new Map();
    const rows = await this.select<Row>(
      `SELECT p.user_id, array_agg(p.conversation_id ORDER BY p.conversation_id) AS ids FROM conversation_participants p
       JOIN conversations c ON c.id = p.conversation_id AND c.deleted_at IS NULL
       WHERE p.user_id = ANY($1::int[]) AND p.deleted_at IS NULL GROUP BY p.user_id`,
      [userIds],
    );
    return new Map(rows.map((r) => [num(r.user_id), (r.ids as Array<number | string>).map(num)]));
  }

  /**
   * The page's conversations are chosen first (by last activity, through the
   * live-messages index), then only those get their unread count (bounded),
   * last message and participants: the cost follows the page, not the history.
   */
  async listForUser(userId: number, query: { limit: number; after?: ListCursor; archived?: boolean }): Promise<ConversationListPage> {
    const rows = await this.select<Row>(
      `WITH mine AS (
         SELECT c.id, p.last_read_message_id, lm.id AS lm_id, (extract(epoch FROM coalesce(lm.created_at, c.created_at)) * 1000000)::bigint AS activity_us
         FROM conversation_participants p
         JOIN conversations c ON c.id = p.conversation_id AND c.deleted_at IS NULL
         LEFT JOIN LATERAL (
           SELECT m.id, m.created_at FROM messages m WHERE ${ONE_CONVERSATION('c.id')} AND m.deleted_at IS NULL ORDER BY m.conversation_id DESC, m.id DESC LIMIT 1
         ) lm ON true
         WHERE p.user_id = $1 AND p.deleted_at IS NULL AND (p.archived_at IS NOT NULL) = $5::boolean
       ), page AS (
         SELECT * FROM mine
         WHERE $2::bigint IS NULL OR (activity_us, id) < ($2::bigint, $3::int)
         ORDER BY activity_us DESC, id DESC LIMIT $4
       )
       SELECT ${COLUMNS}, page.activity_us,
         lm.id AS lm_id, lm.conversation_id AS lm_conversation_id, lm.sender_id AS lm_sender_id,
         lu.username AS lm_sender_username, lm.content AS lm_content, lm.type AS lm_type, lm.attachment AS lm_attachment,
         lm.client_id AS lm_client_id, lm.read_at AS lm_read_at, lm.edited_at AS lm_edited_at,
         lm.created_at AS lm_created_at, lm.updated_at AS lm_updated_at,
         (SELECT count(*) FROM (
            SELECT 1 FROM messages m WHERE ${ONE_CONVERSATION('page.id')} AND m.deleted_at IS NULL
              AND m.id > coalesce(page.last_read_message_id, 0) AND m.sender_id <> $1
            ORDER BY m.conversation_id, m.id LIMIT ${UNREAD_COUNT_MAX}) u) AS unread_count,
         (SELECT count(*) FROM conversation_participants pp JOIN users pu ON pu.id = pp.user_id AND pu.deleted_at IS NULL
            WHERE pp.conversation_id = page.id AND pp.deleted_at IS NULL) AS participant_count,
         (SELECT coalesce(json_agg(json_build_object('id', f.id, 'username', f.username, 'displayName', f.display_name, 'role', f.role,
              'pictureUrl', f.profile_picture) ORDER BY f.id), '[]'::json) FROM (
            SELECT pu.id, pu.username, pu.display_name, pu.role, pu.profile_picture FROM conversation_participants pp JOIN users pu ON pu.id = pp.user_id AND pu.deleted_at IS NULL
            WHERE pp.conversation_id = page.id AND pp.deleted_at IS NULL ORDER BY pu.id LIMIT ${LIST_PARTICIPANTS_MAX}) f) AS participants
       FROM page
       JOIN conversations c ON c.id = page.id
       LEFT JOIN messages lm ON lm.id = page.lm_id
       LEFT JOIN users lu ON lu.id = lm.sender_id
       ORDER BY page.activity_us DESC, page.id DESC`,
      [userId, query.after?.activityUs ?? null, query.after?.conversationId ?? 0, query.limit + 1, query.archived ?? false],
    );
    const conversations = rows.slice(0, query.limit).map((r) => ({
      conversation: toConversation(r),
      participants: r.participants as ParticipantSummary[],
      participantCount: num(r.participant_count),
      lastMessage: r.lm_id === null ? null : toMessage(r, 'lm_'),
      unreadCount: num(r.unread_count),
      activityUs: num(r.activity_us),
    }));
    const last = conversations.at(-1);
    return { conversations, next: rows.length > query.limit && last ? { activityUs: last.activityUs, conversationId: last.conversation.id } : null };
  }

  async advanceReadMarker(conversationId: number, userId: number, messageId: number, now: Date): Promise<{ previous: number; current: number }> {
    // A marker that moves records `conversation.read` in the same statement; one that stays records nothing. It
    // commits without waiting for the disk, so the lane lock it takes is not held for a flush per receipt (a crash
    // may lose the last fraction of a second of read markers; the client marks them again).
    const [row] = await this.select<Row>(
      `WITH settings AS MATERIALIZED (SELECT set_config('synchronous_commit', 'off', true)),
       p AS (
         UPDATE conversation_participants p
         SET last_read_message_id = greatest(coalesce(p.last_read_message_id, 0), $3), updated_at = $4
         FROM (SELECT coalesce(last_read_message_id, 0) AS previous FROM conversation_participants
               WHERE conversation_id = $1 AND user_id = $2 AND deleted_at IS NULL FOR UPDATE) old
         WHERE p.conversation_id = $1 AND p.user_id = $2 AND p.deleted_at IS NULL AND EXISTS (SELECT 1 FROM settings)
         RETURNING old.previous, p.last_read_message_id
       )
       SELECT p.previous, p.last_read_message_id,
         CASE WHEN p.last_read_message_id > p.previous THEN record_conversation_event($1, 'conversation.read', jsonb_build_object(
           'conversation_id', $1::int, 'user_id', $2::int, 'message_id', p.last_read_message_id, 'read_at', $5::text)) END AS event_id
       FROM p`,
      [conversationId, userId, messageId, now, now.toISOString()],
    );
    return row ? { previous: num(row.previous), current: num(row.last_read_message_id) } : { previous: 0, current: 0 };
  }

  async countGroupsCreatedSince(userId: number, since: Date): Promise<number> {
    const [row] = await this.select<Row>("SELECT count(*) AS n FROM conversations WHERE created_by = $1 AND kind = 'group' AND created_at >= $2", [
      userId,
      since,
    ]);
    return num(row?.n);
  }

  private async findDirect(key: string): Promise<Conversation | null> {
    const [row] = await this.select<Row>(`SELECT ${COLUMNS} FROM conversations c WHERE c.direct_key = $1 AND c.deleted_at IS NULL`, [key]);
    return row ? toConversation(row) : null;
  }

  private async insert(transaction: Transaction, c: NewGroup & { kind: ConversationKind; directKey: string | null }, now: Date): Promise<Conversation> {
    const [row] = await this.sequelize.query<Row>(
      `INSERT INTO conversations AS c (title, kind, is_open, created_by, direct_key, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING ${COLUMNS}`,
      { bind: [c.title, c.kind, c.isOpen, c.createdBy, c.directKey, now], type: QueryTypes.SELECT, transaction },
    );
    const conversation = toConversation(row!);
    await this.sequelize.query(
      `INSERT INTO conversation_participants (conversation_id, user_id, created_at, updated_at)
       SELECT $1, u, $3, $3 FROM unnest($2::int[]) AS u ON CONFLICT DO NOTHING`,
      { bind: [conversation.id, [...new Set(c.participantIds)], now], transaction },
    );
    return conversation;
  }

  private select<T extends object = Row>(sql: string, bind: unknown[]): Promise<T[]> {
    return this.sequelize.query<T>(sql, { bind, type: QueryTypes.SELECT });
  }
}
