import type { LockoutPolicy, LoginAttempts } from '../../application/ports/login-attempts.js';

/** The lockout's counters for one process and for tests: the same promises as the database table. */
export class InMemoryLoginAttempts implements LoginAttempts {
  private readonly rows = new Map<string, { failures: number; windowStartedAt: number; lockedUntil: number | null }>();

  async lockedUntil(account: string, now: Date): Promise<Date | null> {
    const until = this.rows.get(account)?.lockedUntil;
    return until && until > now.getTime() ? new Date(until) : null;
  }

  async failed(account: string, now: Date, policy: LockoutPolicy): Promise<Date | null> {
    const t = now.getTime();
    const row = this.rows.get(account);
    const current = row && row.windowStartedAt >= t - policy.windowMs ? row : { failures: 0, windowStartedAt: t, lockedUntil: row?.lockedUntil ?? null };
    current.failures += 1;
    this.rows.set(account, current);
    if (current.failures < policy.maxFailures) return null;
    const until = t + policy.lockMs;
    this.rows.set(account, { failures: 0, windowStartedAt: until, lockedUntil: until });
    return new Date(until);
  }

  async succeeded(account: string): Promise<void> {
    this.rows.delete(account);
  }
}
