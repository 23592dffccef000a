import { fail, ok, type Result } from '../../domain/result.js';
import type { LockoutPolicy, LoginAttempts } from '../ports/login-attempts.js';
import type { UserRepository } from '../ports/user-repository.js';
import type { Clock, PasswordHasher } from '../ports/services.js';
import type { LogInInput } from '../schemas.js';
import type { Device, Sessions, SignedIn } from '../sessions.js';

/**
 * One answer for every failure, in the same time: a password is hashed
 * whether or not the account exists, so neither the answer nor its delay tells
 * which accounts exist. Too many failures for one account lock its logins.
 */
export class LogIn {
  private dummyHash: Promise<string> | null = null;

  constructor(
    private readonly users: UserRepository,
    private readonly hasher: PasswordHasher,
    private readonly sessions: Sessions,
    private readonly attempts: LoginAttempts,
    private readonly lockout: LockoutPolicy,
    private readonly clock: Clock,
  ) {}

  async execute(input: LogInInput, device: Device): Promise<Result<SignedIn>> {
    const name = input.email ? `email:${input.email.toLowerCase()}` : `username:${(input.username ?? '').toLowerCase()}`;
    const user = input.email ? await this.users.findByEmail(input.email.toLowerCase()) : await this.users.findByUsername(input.username ?? '');
    const account = user ? `user:${user.id}` : name;
    const now = this.clock.now();
    const locked = await this.attempts.lockedUntil(account, now);
    if (locked) return lockedOut(locked, now);
    const verified = await this.hasher.verify(input.password, user?.passwordHash ?? (await this.dummy()));
    if (!user || !user.isActive || !verified) {
      await this.attempts.failed(account, now, this.lockout);
      return fail('INVALID_CREDENTIALS', 'Wrong email/username or password');
    }
    await this.attempts.succeeded(account);
    // Hashes from older parameters (or imported from Django) are upgraded now that the password is known.
    if (this.hasher.needsRehash(user.passwordHash)) await this.users.rehashPassword(user.id, await this.hasher.hash(input.password), now);
    await this.users.recordLogin(user.id, now);
    return ok(await this.sessions.open({ ...user, lastLogin: now }, device));
  }

  /** A hash with the current parameters, so an unknown account costs what a known one does. */
  private dummy(): Promise<string> {
    return (this.dummyHash ??= this.hasher.hash('no account has this password'));
  }
}

const lockedOut = (until: Date, now: Date) =>
  fail<never>('RATE_LIMITED', 'Too many failed logins for this account; try again later', {
    retry_after_seconds: Math.max(1, Math.ceil((until.getTime() - now.getTime()) / 1000)),
  });
