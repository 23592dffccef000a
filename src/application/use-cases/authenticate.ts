import { fail, ok, type Result } from '../../domain/result.js';
import type { User } from '../../domain/user.js';
import type { UserRepository } from '../ports/user-repository.js';
import type { TokenService } from '../ports/services.js';

/** Turns a bearer token into a live user: a deleted or deactivated user's token is refused. */
export class Authenticate {
  constructor(
    private readonly users: UserRepository,
    private readonly tokens: TokenService,
  ) {}

  async execute(token: string | null | undefined): Promise<Result<User>> {
    if (!token) return fail('UNAUTHORIZED', 'A bearer token is required');
    const claims = this.tokens.verify(token);
    if (!claims) return fail('UNAUTHORIZED', 'The token is invalid or expired');
    const user = await this.users.findById(claims.userId);
    if (!user || !user.isActive) return fail('UNAUTHORIZED', 'The account behind this token is not active');
    return ok(user);
  }
}
