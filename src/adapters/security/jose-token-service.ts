import { createHash, randomBytes, type webcrypto } from 'node:crypto';
import { createRemoteJWKSet, decodeProtectedHeader, importSPKI, jwtVerify, SignJWT, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { Clock, IssuedToken, TokenClaims, TokenService } from '../../application/ports/services.js';
import { isSessionId } from '../../domain/session.js';

export interface JoseTokenOptions {
  /** HS256 key: signs this server's tokens, and verifies those of an identity provider that shares it. */
  readonly secret: string;
  /** Lifetime of issued access tokens. @default 900 */
  readonly ttlSeconds?: number;
  /** Claim that carries the user id (`user_id` for Django REST SimpleJWT). @default 'sub' */
  readonly userIdClaim?: string;
  /**
   * Accept HS256 tokens without `sid`: an identity provider's, signed with the
   * shared secret. Off, every HS256 token must name a session of this server's,
   * so logout and revocation can end it. @default false
   */
  readonly sharedSecretProvider?: boolean;
  /** Required `iss`, written into issued tokens too. */
  readonly issuer?: string;
  /** Required `aud`, written into issued tokens too. */
  readonly audience?: string;
  /** Tokens that live longer than this (from `iat`, or from now) are refused, whoever signed them. @default 86400 */
  readonly maxLifetimeSeconds?: number;
  /** An identity provider's keys (RS256/ES256), fetched and cached by `jose`. */
  readonly jwksUrl?: string;
  /** Or one public key of it, PEM (SPKI). */
  readonly publicKeyPem?: string;
  readonly clock: Clock;
}

const ASYMMETRIC = ['RS256', 'ES256'] as const;
type CryptoKey = webcrypto.CryptoKey;

/**
 * JWTs with `jose`: this server's access tokens are HS256 with a session id
 * (`sid`); tokens of an external identity provider are accepted when they
 * verify with its public keys, or with the shared secret if that provider is
 * configured, with the issuer, audience and lifetime checks applied to every
 * token alike.
 */
export class JoseTokenService implements TokenService {
  private readonly ttlSeconds: number;
  private readonly claim: string;
  private readonly maxLifetime: number;
  /** Imported once: jose would import a raw secret again on every call. */
  private readonly hmacKey: Promise<CryptoKey>;
  private readonly asymmetricKey: Promise<CryptoKey | JWTVerifyGetKey> | null;

  constructor(private readonly options: JoseTokenOptions) {
    this.ttlSeconds = options.ttlSeconds ?? 900;
    this.claim = options.userIdClaim ?? 'sub';
    this.maxLifetime = options.maxLifetimeSeconds ?? 86_400;
    this.hmacKey = crypto.subtle.importKey('raw', new TextEncoder().encode(options.secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
    this.hmacKey.catch(() => undefined);
    if (options.jwksUrl) this.asymmetricKey = Promise.resolve(createRemoteJWKSet(new URL(options.jwksUrl)));
    else if (options.publicKeyPem) this.asymmetricKey = importPem(options.publicKeyPem);
    else this.asymmetricKey = null;
  }

  async issue(claims: { userId: number; sessionId: string }): Promise<IssuedToken> {
    const now = Math.floor(this.options.clock.now().getTime() / 1000);
    const exp = now + this.ttlSeconds;
    // The id goes in the configured claim too; `sub` is always a string per RFC 7519.
    const payload: JWTPayload = { sid: claims.sessionId, token_type: 'access' };
    if (this.claim !== 'sub') payload[this.claim] = claims.userId;
    let jwt = new SignJWT(payload)
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(String(claims.userId))
      .setJti(randomBytes(12).toString('base64url'))
      .setIssuedAt(now)
      .setExpirationTime(exp);
    if (this.options.issuer) jwt = jwt.setIssuer(this.options.issuer);
    if (this.options.audience) jwt = jwt.setAudience(this.options.audience);
    return { token: await jwt.sign(await this.hmacKey), expiresAt: new Date(exp * 1000) };
  }

  async verify(token: string): Promise<TokenClaims | null> {
    if (token.length > 8192) return null;
    try {
      const { alg } = decodeProtectedHeader(token);
      const common = {
        currentDate: this.options.clock.now(),
        clockTolerance: 30,
        requiredClaims: ['exp'],
        ...(this.options.issuer ? { issuer: this.options.issuer } : {}),
        ...(this.options.audience ? { audience: this.options.audience } : {}),
      };
      if (alg === 'HS256') {
        const { payload } = await jwtVerify(token, await this.hmacKey, { ...common, algorithms: ['HS256'] });
        // Ours name a session (a UUID, checked before any query uses it); none only from a configured provider.
        if (payload.sid === undefined ? !this.options.sharedSecretProvider : !isSessionId(payload.sid)) return null;
        return this.claimsOf(payload, true);
      }
      if (this.asymmetricKey && (ASYMMETRIC as readonly string[]).includes(alg ?? '')) {
        const key = await this.asymmetricKey;
        const options = { ...common, algorithms: [...ASYMMETRIC] };
        const { payload } = typeof key === 'function' ? await jwtVerify(token, key, options) : await jwtVerify(token, key, options);
        // An identity provider's `sid` names its own session, not one of ours.
        return this.claimsOf(payload, false);
      }
      return null;
    } catch {
      return null;
    }
  }

  newRefreshToken(): { token: string; hash: string } {
    const token = `rt_${randomBytes(32).toString('base64url')}`;
    return { token, hash: this.hashRefreshToken(token) };
  }

  /** Refresh tokens carry 256 random bits, so a plain SHA-256 is as good as a slow hash here. */
  hashRefreshToken(token: string): string {
    return createHash('sha256').update(token).digest('base64url');
  }

  private claimsOf(payload: JWTPayload, ours: boolean): TokenClaims | null {
    const now = this.options.clock.now().getTime() / 1000;
    const exp = payload.exp!;
    // A token that would live too long is refused, even one this server's secret signed.
    if (exp - (typeof payload.iat === 'number' ? payload.iat : now) > this.maxLifetime || exp - now > this.maxLifetime) return null;
    if (payload.token_type !== undefined && payload.token_type !== 'access') return null;
    const raw = payload[this.claim];
    const userId = typeof raw === 'string' && /^\d{1,10}$/.test(raw) ? Number(raw) : raw;
    if (typeof userId !== 'number' || !Number.isSafeInteger(userId) || userId <= 0 || userId > 2_147_483_647) return null;
    return { userId, sessionId: ours && isSessionId(payload.sid) ? payload.sid : null };
  }
}

async function importPem(pem: string): Promise<CryptoKey> {
  try {
    return await importSPKI(pem, 'RS256');
  } catch {
    return importSPKI(pem, 'ES256');
  }
}
