import type pg from 'pg';
import { directKey } from '../../../domain/conversation.js';
import type { Role, User } from '../../../domain/user.js';
import type { BlockEntry, DirectoryQuery, PeopleRepository, ProfileChanges, PublicProfile } from '../../../application/ports/people.js';
import { date, num } from '../database.js';
import { toUser, USER_COLUMNS } from './sequelize-user-repository.js';

type Row = Record<string, unknown>;

const PROFILE_COLUMNS = 'u.id, u.username, u.display_name, u.role, u.profile_picture';

export const toProfile = (r: Row): PublicProfile => ({
  id: num(r.id),
  username: String(r.username),
  displayName: (r.display_name as string | null) ?? null,
  role: r.role as Role,
  pictureUrl: (r.profile_picture as string | null) ?? null,
});

/** LIKE's wildcards in a user's text match only themselves. */
const escapeLike = (s: string): string => s.replace(/[\\%_]/g, (c) => `\\${c}`);

/** Directory, profiles and blocks on PostgreSQL (migration 20261204000100-people). */
export class PgPeopleRepository implements PeopleRepository {
  constructor(private readonly pool: pg.Pool) {}

  async search(q: DirectoryQuery): Promise<PublicProfile[]> {
    // Prefix matches use the lower(...) text_pattern_ops indexes; whoever blocks the caller stays hidden from them.
    const { rows } = await this.pool.query<Row>(
      `SELECT ${PROFILE_COLUMNS} FROM users u
       WHERE u.deleted_at IS NULL AND u.is_active AND u.id <> $2 AND u.id > $4
         AND (lower(u.username) LIKE $1 || '%' OR lower(u.display_name) LIKE $1 || '%')
         AND NOT EXISTS (SELECT 1 FROM user_blocks b WHERE b.blocker_id = u.id AND b.blocked_id = $2)
         AND (NOT $3 OR EXISTS (
           SELECT 1 FROM conversation_participants p
           JOIN conversation_participants q ON q.conversation_id = p.conversation_id AND q.user_id = $2 AND q.deleted_at IS NULL
           WHERE p.user_id = u.id AND p.deleted_at IS NULL))
       ORDER BY u.id LIMIT $5`,
      [escapeLike(q.prefix), q.callerId, q.sharedOnly, q.afterId, q.limit],
    );
    return rows.map(toProfile);
  }

  async find(id: number): Promise<PublicProfile | null> {
    const { rows } = await this.pool.query<Row>(`SELECT ${PROFILE_COLUMNS} FROM users u WHERE u.id = $1 AND u.deleted_at IS NULL`, [id]);
    return rows[0] ? toProfile(rows[0]) : null;
  }

  async sharesConversation(a: number, b: number): Promise<boolean> {
    const { rows } = await this.pool.query(
      `SELECT 1 FROM conversation_participants p
       JOIN conversation_participants q ON q.conversation_id = p.conversation_id AND q.user_id = $2 AND q.deleted_at IS NULL
       WHERE p.user_id = $1 AND p.deleted_at IS NULL LIMIT 1`,
      [a, b],
    );
    return rows.length > 0;
  }

  async update(userId: number, changes: ProfileChanges, now: Date): Promise<User | null> {
    const sets: string[] = [];
    const values: unknown[] = [userId, now];
    const set = (column: string, value: string | null | undefined) => {
      if (value === undefined) return;
      values.push(value);
      sets.push(`${column} = $${values.length}`);
    };
    set('display_name', changes.displayName);
    set('phone_number', changes.phoneNumber);
    set('profile_picture', changes.pictureUrl);
    const { rows } = await this.pool.query<Row>(
      `UPDATE users SET ${[...sets, 'updated_at = $2'].join(', ')} WHERE id = $1 AND deleted_at IS NULL RETURNING ${USER_COLUMNS}`,
      values,
    );
    return rows[0] ? toUser(rows[0]) : null;
  }

  async block(blockerId: number, blockedId: number, now: Date): Promise<boolean> {
    const { rowCount } = await this.pool.query('INSERT INTO user_blocks (blocker_id, blocked_id, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [
      blockerId,
      blockedId,
      now,
    ]);
    return rowCount === 1;
  }

  async unblock(blockerId: number, blockedId: number): Promise<boolean> {
    const { rowCount } = await this.pool.query('DELETE FROM user_blocks WHERE blocker_id = $1 AND blocked_id = $2', [blockerId, blockedId]);
    return rowCount === 1;
  }

  async blocks(blockerId: number): Promise<BlockEntry[]> {
    const { rows } = await this.pool.query<Row>(
      `SELECT ${PROFILE_COLUMNS}, b.created_at AS blocked_at FROM user_blocks b JOIN users u ON u.id = b.blocked_id AND u.deleted_at IS NULL
       WHERE b.blocker_id = $1 ORDER BY b.created_at DESC, u.id LIMIT 1000`,
      [blockerId],
    );
    return rows.map((r) => ({ profile: toProfile(r), blockedAt: date(r.blocked_at) }));
  }

  async blockedEitherWay(a: number, b: number): Promise<boolean> {
    const { rows } = await this.pool.query('SELECT 1 FROM user_blocks WHERE (blocker_id = $1 AND blocked_id = $2) OR (blocker_id = $2 AND blocked_id = $1)', [
      a,
      b,
    ]);
    return rows.length > 0;
  }

  async directConversation(a: number, b: number): Promise<number | null> {
    const { rows } = await this.pool.query<Row>('SELECT id FROM conversations WHERE direct_key = $1 AND deleted_at IS NULL', [directKey(a, b)]);
    return rows[0] ? num(rows[0].id) : null;
  }
}
