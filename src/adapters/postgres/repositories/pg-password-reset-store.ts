import type pg from 'pg';
import type { IssueLimit, NewPasswordReset, PasswordResetStore } from '../../../application/ports/password-resets.js';

/** Per-user advisory locks (namespace, user id): one issue at a time per user, so the per-account limit holds. */
const ISSUE_LOCK = 727_007;

/** Tokens in `password_resets` (migration 20261204000200), by their SHA-256. */
export class PgPasswordResetStore implements PasswordResetStore {
  constructor(private readonly pool: pg.Pool) {}

  async issue(reset: NewPasswordReset, limit: IssueLimit): Promise<boolean> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1, $2)', [ISSUE_LOCK, reset.userId]);
      // Rows that neither count towards the limit nor work any more are of no use.
      await client.query('DELETE FROM password_resets WHERE user_id = $1 AND created_at <= $2 AND (spent_at IS NOT NULL OR expires_at <= $3)', [
        reset.userId,
        limit.since,
        reset.createdAt,
      ]);
      const { rows } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM password_resets WHERE user_id = $1 AND created_at > $2', [
        reset.userId,
        limit.since,
      ]);
      if (rows[0]!.n >= limit.max) {
        await client.query('COMMIT');
        return false;
      }
      await client.query('UPDATE password_resets SET spent_at = $2 WHERE user_id = $1 AND spent_at IS NULL', [reset.userId, reset.createdAt]);
      await client.query('INSERT INTO password_resets (user_id, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4)', [
        reset.userId,
        reset.tokenHash,
        reset.createdAt,
        reset.expiresAt,
      ]);
      await client.query('COMMIT');
      return true;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  async consume(tokenHash: string, now: Date): Promise<number | null> {
    const { rows } = await this.pool.query<{ user_id: number }>(
      'UPDATE password_resets SET spent_at = $2 WHERE token_hash = $1 AND spent_at IS NULL AND expires_at > $2 RETURNING user_id',
      [tokenHash, now],
    );
    return rows[0]?.user_id ?? null;
  }
}
