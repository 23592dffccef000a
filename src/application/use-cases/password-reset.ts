import { fail, ok, type Result } from '../../domain/result.js';
import type { Broadcaster } from '../ports/fanout.js';
import type { LoginAttempts } from '../ports/login-attempts.js';
import type { Mailer } from '../ports/mailer.js';
import type { KeyedBudget, PasswordResetStore, ResetTokens } from '../ports/password-resets.js';
import type { Clock, Logger, PasswordHasher } from '../ports/services.js';
import type { SessionRepository } from '../ports/session-repository.js';
import type { UserRepository } from '../ports/user-repository.js';
import type { ForgotPasswordInput, ResetPasswordInput } from '../schemas.js';

export interface PasswordResetPolicy {
  /** How long a mailed token works. */
  readonly ttlMs: number;
  /** Tokens one account may be sent per `accountWindowMs`, cluster-wide. */
  readonly maxPerAccount: number;
  readonly accountWindowMs: number;
  /** The link the token is appended to (the browser app reads it from the fragment). */
  readonly linkPrefix: string;
  /** Resets being looked up or mailed at once, per process; requests beyond are dropped. */
  readonly maxPending: number;
}

/** The one answer every request gets, whether or not the address has an account. */
export const FORGOT_ANSWER = {
  accepted: true,
  message: 'If an account has this address, a link to reset its password is on its way',
} as const;

/**
 * Answers at once with the same words for every address, and only then looks
 * the address up and mails the link, off the request path: neither the answer
 * nor its timing tells whether an account exists. Addresses over their budget
 * (per address on this process, per account across the cluster), unknown,
 * deactivated or deleted accounts get the same answer and no mail.
 */
export class RequestPasswordReset {
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly users: UserRepository,
    private readonly store: PasswordResetStore,
    private readonly tokens: ResetTokens,
    private readonly mailer: Mailer,
    private readonly perAddress: KeyedBudget,
    private readonly policy: PasswordResetPolicy,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  execute(input: ForgotPasswordInput): typeof FORGOT_ANSWER {
    const email = input.email.toLowerCase();
    if (this.pending.size >= this.policy.maxPending) {
      this.logger.warn({ pending: this.pending.size }, 'password reset requests are arriving faster than they are mailed; this one was dropped');
      return FORGOT_ANSWER;
    }
    const work = this.deliver(email)
      .catch((error: unknown) => this.logger.error({ err: error }, 'a password reset mail could not be sent'))
      .finally(() => this.pending.delete(work));
    this.pending.add(work);
    return FORGOT_ANSWER;
  }

  /** Resolves once every accepted request has been looked up and mailed (or dropped). */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  private async deliver(email: string): Promise<void> {
    if (this.perAddress.take(email) !== null) return this.logger.info('password reset: address over its budget, no mail sent');
    const user = await this.users.findByEmail(email);
    if (!user || !user.isActive) return this.logger.info('password reset: no active account has this address, no mail sent');
    const now = this.clock.now();
    const { token, hash } = this.tokens.generate();
    const issued = await this.store.issue(
      { userId: user.id, tokenHash: hash, createdAt: now, expiresAt: new Date(now.getTime() + this.policy.ttlMs) },
      { since: new Date(now.getTime() - this.policy.accountWindowMs), max: this.policy.maxPerAccount },
    );
    if (!issued) return this.logger.info({ userId: user.id }, 'password reset: account over its budget, no mail sent');
    const minutes = Math.round(this.policy.ttlMs / 60_000);
    await this.mailer.send({
      to: user.email,
      subject: 'Reset your password',
      text: [
        `Someone, hopefully you, asked to reset the password of the account ${user.username}.`,
        '',
        `Open this link within ${minutes} minute${minutes === 1 ? '' : 's'} to choose a new one (it works once):`,
        `${this.policy.linkPrefix}${token}`,
        '',
        'Choosing a new password signs you out everywhere. If you did not ask for this, ignore this mail: your password stays as it is.',
      ].join('\n'),
    });
    this.logger.info({ userId: user.id }, 'password reset: link mailed');
  }
}

const INVALID = 'The reset link is invalid, expired or already used; ask for a new one';

/**
 * Sets a new password with a mailed token, which is spent in the same step it
 * is checked (two uses race; one wins). Every session of the user ends and
 * their connections close on every process, as after a password change; the
 * login lockout of the account is lifted.
 */
export class ResetPassword {
  constructor(
    private readonly users: UserRepository,
    private readonly store: PasswordResetStore,
    private readonly tokens: ResetTokens,
    private readonly hasher: PasswordHasher,
    private readonly sessionStore: SessionRepository,
    private readonly attempts: LoginAttempts,
    private readonly broadcaster: Broadcaster,
    private readonly clock: Clock,
  ) {}

  async execute(input: ResetPasswordInput): Promise<Result<{ readonly reset: true }>> {
    const hash = this.tokens.hashOf(input.token);
    if (hash === null) return fail('RESET_TOKEN_INVALID', INVALID);
    // Hashed before the token is spent, so a failure here leaves the link usable.
    const passwordHash = await this.hasher.hash(input.password);
    const now = this.clock.now();
    const userId = await this.store.consume(hash, now);
    const user = userId === null ? null : await this.users.findById(userId);
    if (!user || !user.isActive) return fail('RESET_TOKEN_INVALID', INVALID);
    await this.users.changePassword(user.id, passwordHash, now);
    await this.sessionStore.revokeAll(user.id, now);
    await this.attempts.succeeded(`user:${user.id}`);
    await this.broadcaster.accessChanged({ userId: user.id, sessionId: null, change: 'credentials' });
    return ok({ reset: true });
  }
}
