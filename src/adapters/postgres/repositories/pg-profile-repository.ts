import type pg from 'pg';
import type { Profile, ProfileRepository } from '../../../application/ports/profile-repository.js';
import { num } from '../database.js';
import { toSession } from './sequelize-session-repository.js';
import { toUser, USER_COLUMNS } from './sequelize-user-repository.js';

type Row = Record<string, unknown>;

const LOAD = `
  SELECT (SELECT row_to_json(u) FROM (SELECT ${USER_COLUMNS} FROM users WHERE id = $1 AND deleted_at IS NULL) u) AS "user",
         (SELECT row_to_json(s) FROM sessions s WHERE s.id = $2::uuid AND s.user_id = $1) AS session,
         (SELECT coalesce(array_agg(p.conversation_id ORDER BY p.conversation_id), '{}') FROM conversation_participants p
            JOIN conversations c ON c.id = p.conversation_id AND c.deleted_at IS NULL
            WHERE p.user_id = $1 AND p.deleted_at IS NULL) AS conversation_ids`;

/**
 * The user, the session and the user's conversations, in one query: what an
 * upgrade needs when the profile cache misses. A named statement through pg,
 * so each connection plans it once (planning cost about five times running it,
 * and a reconnect storm runs it once per user).
 */
export class PgProfileRepository implements ProfileRepository {
  constructor(private readonly pool: pg.Pool) {}

  async load(userId: number, sessionId: string | null): Promise<Profile> {
    const { rows } = await this.pool.query<Row>({ name: 'profile-load', text: LOAD, values: [userId, sessionId] });
    const row = rows[0];
    return {
      user: row?.user ? toUser(row.user as Row) : null,
      session: row?.session ? toSession(row.session as Row) : null,
      conversationIds: ((row?.conversation_ids as Array<number | string> | null) ?? []).map(num),
    };
  }
}
