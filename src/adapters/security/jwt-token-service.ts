import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IssuedToken, TokenService } from '../../application/ports/services.js';
import type { Clock } from '../../application/ports/services.js';

export interface JwtOptions {
  /** HS256 key, shared with any identity provider whose tokens are accepted. */
  readonly secret: string;
  /** Lifetime of issued tokens. @default 86400 */
  readonly ttlSeconds?: number;
  /** Claim that carries the user id (`user_id` for Django REST SimpleJWT). @default 'sub' */
  readonly userIdClaim?: string;
  readonly clock: Clock;
}

const b64url = (input: Buffer | string) => Buffer.from(input).toString('base64url');

/** HS256 JWTs: only that algorithm is accepted, whatever the header claims. */
export class JwtTokenService implements TokenService {
  private readonly ttlSeconds: number;
  private readonly claim: string;

  constructor(private readonly options: JwtOptions) {
    this.ttlSeconds = options.ttlSeconds ?? 86_400;
    this.claim = options.userIdClaim ?? 'sub';
  }

  issue(userId: number): IssuedToken {
    const now = Math.floor(this.options.clock.now().getTime() / 1000);
    const exp = now + this.ttlSeconds;
    // The id goes in the configured claim; `sub` is always a string per RFC 7519.
    const payload: Record<string, unknown> = { sub: String(userId), iat: now, exp, token_type: 'access' };
    if (this.claim !== 'sub') payload[this.claim] = userId;
    const head = `${b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))}.${b64url(JSON.stringify(payload))}`;
    return { token: `${head}.${this.sign(head)}`, expiresAt: new Date(exp * 1000) };
  }

  verify(token: string): { userId: number } | null {
    if (token.length > 4096) return null;
    const parts = token.split('.');
    if (parts.length !== 3) return null;
    const [header, payload, signature] = parts as [string, string, string];
    const expected = Buffer.from(this.sign(`${header}.${payload}`));
    const given = Buffer.from(signature);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return null;
    const head = parseJson(header);
    const claims = parseJson(payload);
    if (!head || head.alg !== 'HS256' || !claims) return null;
    const now = this.options.clock.now().getTime() / 1000;
    if (typeof claims.exp !== 'number' || claims.exp <= now) return null;
    if (typeof claims.nbf === 'number' && claims.nbf > now + 30) return null;
    if (claims.token_type !== undefined && claims.token_type !== 'access') return null;
    const raw = claims[this.claim];
    const userId = typeof raw === 'string' && /^\d{1,15}$/.test(raw) ? Number(raw) : raw;
    return typeof userId === 'number' && Number.isSafeInteger(userId) && userId > 0 ? { userId } : null;
  }

  private sign(data: string): string {
    return createHmac('sha256', this.options.secret).update(data).digest('base64url');
  }
}

function parseJson(segment: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
