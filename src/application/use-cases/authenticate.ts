import { isLive } from '../../domain/session.js';
import { fail, ok, type Result } from '../../domain/result.js';
import type { User } from '../../domain/user.js';
import type { SessionRepository } from '../ports/session-repository.js';
import type { Clock, TokenService } from '../ports/services.js';
import type { UserRepository } from '../ports/user-repository.js';

export interface Authenticated {
  readonly user: User;
  /** The session the token belongs to; null for a token of an external identity provider. */
  readonly sessionId: string | null;
}

/**
 * Turns a bearer token into a live user: the token must verify, its user be
 * active and not deleted, and its session (for our own tokens) not be revoked
 * or expired. The repositories may be caches kept in step by fan-out.
 */
export class Authenticate {
  constructor(
    private readonly users: UserRepository,
    private readonly sessions: SessionRepository,
    private readonly tokens: TokenService,
    private readonly clock: Clock,
  ) {}

  async execute(token: string | null | undefined): Promise<Result<Authenticated>> {
    if (!token) return fail('UNAUTHORIZED', 'A bearer token is required');
    const claims = await this.tokens.verify(token);
    if (!claims) return fail('UNAUTHORIZED', 'The token is invalid or expired');
    const [user, session] = await Promise.all([
      this.users.findById(claims.userId),
      claims.sessionId ? this.sessions.findById(claims.sessionId) : Promise.resolve(null),
    ]);
    if (!user || !user.isActive) return fail('UNAUTHORIZED', 'The account behind this token is not active');
    if (claims.sessionId && (!session || session.userId !== user.id || !isLive(session, this.clock.now()))) {
      return fail('UNAUTHORIZED', 'This session has ended; sign in again');
    }
    return ok({ user, sessionId: claims.sessionId });
  }
}
