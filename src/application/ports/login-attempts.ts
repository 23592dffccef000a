export interface LockoutPolicy {
  /** Failed logins within the window that lock the account. */
  readonly maxFailures: number;
  readonly windowMs: number;
  /** How long a locked account's logins are refused. */
  readonly lockMs: number;
}

/**
 * Failed logins per account, cluster-wide, for the lockout: after too many
 * failures in a window, the account's logins are refused for a while (even
 * with the right password). An account is a user id, or the name tried when
 * no such user exists, so the lockout says nothing about which accounts exist.
 */
export interface LoginAttempts {
  /** Until when the account's logins are refused, or null. */
  lockedUntil(account: string, now: Date): Promise<Date | null>;
  /** Counts a failure; resolves to the end of the lock this failure started, if it did. */
  failed(account: string, now: Date, policy: LockoutPolicy): Promise<Date | null>;
  succeeded(account: string): Promise<void>;
}
