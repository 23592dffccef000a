import type { IssueLimit, NewPasswordReset, PasswordResetStore } from '../../application/ports/password-resets.js';

interface Row extends NewPasswordReset {
  spentAt: Date | null;
}

/** Reset tokens in memory, with the promises of the PostgreSQL store. */
export class InMemoryPasswordResetStore implements PasswordResetStore {
  private readonly rows: Row[] = [];

  async issue(reset: NewPasswordReset, limit: IssueLimit): Promise<boolean> {
    const mine = this.rows.filter((r) => r.userId === reset.userId);
    if (mine.filter((r) => r.createdAt > limit.since).length >= limit.max) return false;
    for (const r of mine) r.spentAt ??= reset.createdAt;
    this.rows.push({ ...reset, spentAt: null });
    return true;
  }

  async consume(tokenHash: string, now: Date): Promise<number | null> {
    const row = this.rows.find((r) => r.tokenHash === tokenHash && r.spentAt === null && r.expiresAt > now);
    if (!row) return null;
    row.spentAt = now;
    return row.userId;
  }
}
