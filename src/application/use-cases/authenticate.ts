import { isLive } from '../../domain/session.js';
import { fail, ok, type Result } from '../../domain/result.js';
import type { User } from '../../domain/user.js';
import type { ProfileRepository } from '../ports/profile-repository.js';
import type { Clock, TokenService } from '../ports/services.js';

export interface Authenticated {
  readonly user: User;
  /** The session the token belongs to; null for a token of an external identity provider. */
  readonly sessionId: string | null;
  /** The user's conversations (what a new connection receives). */
  readonly conversationIds: readonly number[];
}

/**
 * Turns a bearer token into a live user: the token must verify (always: it is
 * never cached), its user be active and not deleted, and its session (for this
 * server's tokens) be neither revoked nor expired. The profile comes from a
 * cache kept in step by fan-out, or from one query.
 */
export class Authenticate {
  constructor(
    private readonly profiles: ProfileRepository,
    private readonly tokens: TokenService,
    private readonly clock: Clock,
  ) {}

  async execute(token: string | null | undefined): Promise<Result<Authenticated>> {
    if (!token) return fail('UNAUTHORIZED', 'A bearer token is required');
    const claims = await this.tokens.verify(token);
    if (!claims) return fail('UNAUTHORIZED', 'The token is invalid or expired');
    const { user, session, conversationIds } = await this.profiles.load(claims.userId, claims.sessionId);
    if (!user || !user.isActive) return fail('UNAUTHORIZED', 'The account behind this token is not active');
    // A session is only ever its own user's: a token naming another user's session is refused.
    if (claims.sessionId && (!session || session.userId !== user.id || !isLive(session, this.clock.now()))) {
      return fail('UNAUTHORIZED', 'This session has ended; sign in again');
    }
    return ok({ user, sessionId: claims.sessionId, conversationIds });
  }
}
