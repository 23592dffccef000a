import { QueryTypes, type Sequelize, type Transaction } from 'sequelize';
import type { Session } from '../../../domain/session.js';
import type { NewSession, Rotation, SessionRepository } from '../../../application/ports/session-repository.js';
import { date, dateOrNull, num } from '../database.js';

type Row = Record<string, unknown>;

export const toSession = (r: Row): Session => ({
  id: String(r.id),
  userId: num(r.user_id),
  deviceLabel: (r.device_label as string | null) ?? null,
  ip: (r.ip as string | null) ?? null,
  createdAt: date(r.created_at),
  lastUsedAt: date(r.last_used_at),
  expiresAt: date(r.expires_at),
  revokedAt: dateOrNull(r.revoked_at),
});

const COLUMNS = 'id, user_id, device_label, ip, created_at, last_used_at, expires_at, revoked_at';

/** Sessions in `sessions`; refresh tokens (as SHA-256 hashes, the retired ones kept to catch a replay) in `refresh_tokens`. */
export class SequelizeSessionRepository implements SessionRepository {
  private lastCleanup = 0;

  constructor(private readonly sequelize: Sequelize) {}

  async create(s: NewSession, refreshTokenHash: string, now: Date): Promise<Session> {
    const [row] = await this.select(
      `WITH s AS (
         INSERT INTO sessions (id, user_id, device_label, ip, created_at, last_used_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $5, $6) RETURNING ${COLUMNS}
       ), t AS (INSERT INTO refresh_tokens (token_hash, session_id, created_at) SELECT $7, id, $5 FROM s)
       SELECT * FROM s`,
      [s.id, s.userId, s.deviceLabel, s.ip, now, s.expiresAt, refreshTokenHash],
    );
    void this.cleanup(now);
    return toSession(row!);
  }

  async rotate(
    presentedHash: string,
    nextHash: string,
    now: Date,
    expiresAt: Date,
    device: { deviceLabel: string | null; ip: string | null },
  ): Promise<Rotation> {
    return this.sequelize.transaction(async (transaction) => {
      // The decisive step: the presented token's row, locked. Of two concurrent rotations the second waits here
      // and then reads the token as the first left it (retired), so it is told `reused`, never `unknown`.
      const [presented] = await this.select('SELECT session_id, retired_at FROM refresh_tokens WHERE token_hash = $1 FOR UPDATE', [presentedHash], transaction);
      if (!presented) return { kind: 'unknown' };
      if (presented.retired_at !== null) {
        // Presented twice: the session ends in the same transaction that learned it.
        const [revoked] = await this.select(
          `UPDATE sessions SET revoked_at = coalesce(revoked_at, $2) WHERE id = $1 RETURNING ${COLUMNS}`,
          [presented.session_id, now],
          transaction,
        );
        return revoked ? { kind: 'reused', session: toSession(revoked) } : { kind: 'unknown' };
      }
      const [rotated] = await this.select(
        `WITH retired AS (
           UPDATE refresh_tokens t SET retired_at = $3 FROM sessions s
           WHERE t.token_hash = $1 AND s.id = t.session_id AND s.revoked_at IS NULL AND s.expires_at > $3
           RETURNING t.session_id
         ), stored AS (
           INSERT INTO refresh_tokens (token_hash, session_id, created_at) SELECT $2, session_id, $3 FROM retired
         )
         UPDATE sessions SET last_used_at = $3, expires_at = $4, device_label = coalesce($5, device_label), ip = coalesce($6, ip)
         WHERE id IN (SELECT session_id FROM retired) RETURNING ${COLUMNS}`,
        [presentedHash, nextHash, now, expiresAt, device.deviceLabel, device.ip],
        transaction,
      );
      return rotated ? { kind: 'rotated', session: toSession(rotated) } : { kind: 'unknown' };
    });
  }

  async findById(id: string): Promise<Session | null> {
    const [row] = await this.select(`SELECT ${COLUMNS} FROM sessions WHERE id = $1`, [id]);
    return row ? toSession(row) : null;
  }

  async listLive(userId: number, now: Date): Promise<Session[]> {
    const rows = await this.select(
      `SELECT ${COLUMNS} FROM sessions WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2 ORDER BY last_used_at DESC, created_at DESC LIMIT 200`,
      [userId, now],
    );
    return rows.map(toSession);
  }

  async revoke(id: string, now: Date): Promise<boolean> {
    const rows = await this.select('UPDATE sessions SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL RETURNING id', [id, now]);
    return rows.length > 0;
  }

  async revokeAll(userId: number, now: Date, exceptId?: string): Promise<number> {
    const rows = await this.select(
      'UPDATE sessions SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL AND ($3::uuid IS NULL OR id <> $3::uuid) RETURNING id',
      [userId, now, exceptId ?? null],
    );
    return rows.length;
  }

  /** Sessions over for a month go, with their tokens (at most once an hour per process). */
  private async cleanup(now: Date): Promise<void> {
    if (now.getTime() - this.lastCleanup < 3_600_000) return;
    this.lastCleanup = now.getTime();
    await this.sequelize
      .query(`DELETE FROM sessions WHERE coalesce(revoked_at, expires_at) < $1::timestamptz - interval '30 days'`, { bind: [now] })
      .catch(() => undefined);
  }

  private select(sql: string, bind: unknown[], transaction?: Transaction): Promise<Row[]> {
    return this.sequelize.query<Row>(sql, { bind, type: QueryTypes.SELECT, ...(transaction ? { transaction } : {}) });
  }
}
