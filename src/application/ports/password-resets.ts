/** A reset token as stored: its digest, never the token itself. */
export interface NewPasswordReset {
  readonly userId: number;
  readonly tokenHash: string;
  readonly createdAt: Date;
  readonly expiresAt: Date;
}

/** How many tokens one account may be sent: at most `max` issued after `since`. */
export interface IssueLimit {
  readonly since: Date;
  readonly max: number;
}

/**
 * Password reset tokens, cluster-wide. Each user has at most one live token:
 * issuing one spends the earlier ones, and using one spends it.
 */
export interface PasswordResetStore {
  /**
   * Stores the token and spends the user's earlier ones, unless `limit.max` tokens were
   * already issued to the user after `limit.since`: then nothing changes and it resolves to false.
   */
  issue(reset: NewPasswordReset, limit: IssueLimit): Promise<boolean>;
  /** Spends the token if it is unspent and unexpired at `now`, in one step; resolves to its user, else null. */
  consume(tokenHash: string, now: Date): Promise<number | null>;
}

/** Single-use secrets: random tokens, and the digest stored in their place. */
export interface ResetTokens {
  generate(): { readonly token: string; readonly hash: string };
  /** The digest of a token of the right shape; null for anything else, which no stored token can match. */
  hashOf(token: string): string | null;
}

/** A per-key request budget: null when allowed, else the seconds until the next one is. */
export interface KeyedBudget {
  take(key: string): number | null;
}
