import { QueryTypes, type Sequelize } from 'sequelize';
import type { Profile, ProfileRepository } from '../../application/ports/profile-repository.js';
import { num } from './database.js';
import { toSession } from './sequelize-session-repository.js';
import { toUser, USER_COLUMNS } from './sequelize-user-repository.js';

type Row = Record<string, unknown>;

/** The user, the session and the user's conversations, in one query. */
export class SequelizeProfileRepository implements ProfileRepository {
  constructor(private readonly sequelize: Sequelize) {}

  async load(userId: number, sessionId: string | null): Promise<Profile> {
    const [row] = await this.sequelize.query<Row>(
      `SELECT (SELECT row_to_json(u) FROM (SELECT ${USER_COLUMNS} FROM users WHERE id = $1 AND deleted_at IS NULL) u) AS "user",
              (SELECT row_to_json(s) FROM sessions s WHERE s.id = $2::uuid AND s.user_id = $1) AS session,
              (SELECT coalesce(array_agg(p.conversation_id ORDER BY p.conversation_id), '{}') FROM conversation_participants p
                 JOIN conversations c ON c.id = p.conversation_id AND c.deleted_at IS NULL
                 WHERE p.user_id = $1 AND p.deleted_at IS NULL) AS conversation_ids`,
      { bind: [userId, sessionId], type: QueryTypes.SELECT },
    );
    return {
      user: row?.user ? toUser(row.user as Row) : null,
      session: row?.session ? toSession(row.session as Row) : null,
      conversationIds: ((row?.conversation_ids as Array<number | string> | null) ?? []).map(num),
    };
  }
}
