import { QueryTypes, type Sequelize } from 'sequelize';
import type { LockoutPolicy, LoginAttempts } from '../../../application/ports/login-attempts.js';

type Row = Record<string, unknown>;

/** Failed logins in `login_failures`, one row per account, counted in a sliding window. */
export class SequelizeLoginAttempts implements LoginAttempts {
  private lastCleanup = 0;

  constructor(private readonly sequelize: Sequelize) {}

  async lockedUntil(account: string, now: Date): Promise<Date | null> {
    const [row] = await this.sequelize.query<Row>('SELECT locked_until FROM login_failures WHERE account = $1 AND locked_until > $2', {
      bind: [account, now],
      type: QueryTypes.SELECT,
    });
    return (row?.locked_until as Date | undefined) ?? null;
  }

  async failed(account: string, now: Date, policy: LockoutPolicy): Promise<Date | null> {
    const [row] = await this.sequelize.query<Row>(
      `INSERT INTO login_failures AS f (account, failures, window_started_at) VALUES ($1, 1, $2)
       ON CONFLICT (account) DO UPDATE SET
         failures = CASE WHEN f.window_started_at < $2::timestamptz - $3::int * interval '1 millisecond' THEN 1 ELSE f.failures + 1 END,
         window_started_at = CASE WHEN f.window_started_at < $2::timestamptz - $3::int * interval '1 millisecond' THEN $2 ELSE f.window_started_at END
       RETURNING failures`,
      { bind: [account, now, policy.windowMs], type: QueryTypes.SELECT },
    );
    await this.cleanup(now, policy);
    if (Number(row?.failures) < policy.maxFailures) return null;
    const until = new Date(now.getTime() + policy.lockMs);
    // The failures start over once the lock is set: the next window begins after the cool-down.
    await this.sequelize.query('UPDATE login_failures SET locked_until = $2, failures = 0, window_started_at = $2 WHERE account = $1', {
      bind: [account, until],
    });
    return until;
  }

  async succeeded(account: string): Promise<void> {
    await this.sequelize.query('DELETE FROM login_failures WHERE account = $1', { bind: [account] });
  }

  /** Rows of accounts tried once and never again would pile up: drop the stale ones now and then. */
  private async cleanup(now: Date, policy: LockoutPolicy): Promise<void> {
    if (now.getTime() - this.lastCleanup < 60_000) return;
    this.lastCleanup = now.getTime();
    await this.sequelize.query(
      `DELETE FROM login_failures WHERE window_started_at < $1::timestamptz - $2::int * interval '1 millisecond' AND (locked_until IS NULL OR locked_until < $1::timestamptz)`,
      { bind: [now, policy.windowMs + policy.lockMs] },
    );
  }
}
