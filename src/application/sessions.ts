import type { User } from '../domain/user.js';
import type { SessionRepository } from './ports/session-repository.js';
import type { Clock, IssuedToken, TokenService } from './ports/services.js';

export interface Device {
  /** The client's User-Agent. */
  readonly label: string | null;
  readonly ip: string | null;
}

/** What register, login, refresh and a password change answer with. */
export interface SignedIn {
  readonly user: User;
  readonly sessionId: string;
  readonly token: IssuedToken;
  readonly refreshToken: string;
  readonly refreshExpiresAt: Date;
}

export interface SessionPolicy {
  /** How long a refresh token works; each refresh starts the time again. */
  readonly refreshTtlMs: number;
}

/** Opens sessions: a stored session with a hashed refresh token, and the token pair for the client. */
export class Sessions {
  constructor(
    private readonly sessions: SessionRepository,
    private readonly tokens: TokenService,
    private readonly clock: Clock,
    private readonly policy: SessionPolicy,
    private readonly newId: () => string,
  ) {}

  async open(user: User, device: Device): Promise<SignedIn> {
    const now = this.clock.now();
    const refresh = this.tokens.newRefreshToken();
    const expiresAt = this.refreshExpiry(now);
    const session = await this.sessions.create({ id: this.newId(), userId: user.id, deviceLabel: device.label, ip: device.ip, expiresAt }, refresh.hash, now);
    return {
      user,
      sessionId: session.id,
      token: await this.tokens.issue({ userId: user.id, sessionId: session.id }),
      refreshToken: refresh.token,
      refreshExpiresAt: expiresAt,
    };
  }

  refreshExpiry(now: Date): Date {
    return new Date(now.getTime() + this.policy.refreshTtlMs);
  }
}

/** The label a device gives, trimmed to what is stored. */
export const deviceOf = (userAgent: string, ip: string): Device => ({
  // eslint-disable-next-line no-control-regex -- control characters are what it removes
  label: userAgent ? userAgent.replace(/[\u0000-\u001f\u007f]/g, '').slice(0, 255) || null : null,
  ip: ip ? ip.slice(0, 64) : null,
});
