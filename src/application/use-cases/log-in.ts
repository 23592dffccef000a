import { fail, ok, type Result } from '../../domain/result.js';
import type { User } from '../../domain/user.js';
import type { UserRepository } from '../ports/user-repository.js';
import type { Clock, IssuedToken, PasswordHasher, TokenService } from '../ports/services.js';
import type { LogInInput } from '../schemas.js';

export class LogIn {
  constructor(
    private readonly users: UserRepository,
    private readonly hasher: PasswordHasher,
    private readonly tokens: TokenService,
    private readonly clock: Clock,
  ) {}

  async execute(input: LogInInput): Promise<Result<{ user: User; token: IssuedToken }>> {
    const user = input.email
      ? await this.users.findByEmail(input.email.toLowerCase())
      : await this.users.findByUsername(input.username ?? '');
    // One answer for every failure, so the endpoint does not reveal which accounts exist.
    const valid = user !== null && user.isActive && (await this.hasher.verify(input.password, user.passwordHash));
    if (!user || !valid) return fail('INVALID_CREDENTIALS', 'Wrong email/username or password');
    const now = this.clock.now();
    await this.users.recordLogin(user.id, now);
    return ok({ user: { ...user, lastLogin: now }, token: this.tokens.issue(user.id) });
  }
}
