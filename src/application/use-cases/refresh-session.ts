import { fail, ok, type Result } from '../../domain/result.js';
import type { Broadcaster } from '../ports/fanout.js';
import type { SessionRepository } from '../ports/session-repository.js';
import type { Clock, TokenService } from '../ports/services.js';
import type { UserRepository } from '../ports/user-repository.js';
import type { Device, Sessions, SignedIn } from '../sessions.js';

const refused = () => fail<never>('UNAUTHORIZED', 'The refresh token is invalid or its session has ended; sign in again');

/**
 * Exchanges a refresh token for a new pair and retires it. A retired token
 * presented again means two parties hold it: the whole session is revoked, its
 * connections closed, and the newer token stops working too. Two concurrent
 * refreshes with one token count as such a replay (the store decides which came
 * second): whoever wins, the session ends, so a thief who races the owner gains
 * nothing.
 */
export class RefreshSession {
  constructor(
    private readonly users: UserRepository,
    private readonly sessionStore: SessionRepository,
    private readonly sessions: Sessions,
    private readonly tokens: TokenService,
    private readonly broadcaster: Broadcaster,
    private readonly clock: Clock,
  ) {}

  async execute(refreshToken: string, device: Device): Promise<Result<SignedIn>> {
    const now = this.clock.now();
    const next = this.tokens.newRefreshToken();
    const expiresAt = this.sessions.refreshExpiry(now);
    const rotation = await this.sessionStore.rotate(this.tokens.hashRefreshToken(refreshToken), next.hash, now, expiresAt, {
      deviceLabel: device.label,
      ip: device.ip,
    });
    if (rotation.kind === 'unknown') return refused();
    const { session } = rotation;
    if (rotation.kind === 'reused') {
      // The store revoked the session; its connections and cached copies go now.
      await this.broadcaster.accessChanged({ userId: session.userId, sessionId: session.id, change: 'refresh-reused' });
      return refused();
    }
    const user = await this.users.findById(session.userId);
    if (!user || !user.isActive) return refused();
    return ok({
      user,
      sessionId: session.id,
      token: await this.tokens.issue({ userId: user.id, sessionId: session.id }),
      refreshToken: next.token,
      refreshExpiresAt: expiresAt,
    });
  }
}
