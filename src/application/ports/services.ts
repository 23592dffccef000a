export interface Clock {
  now(): Date;
}

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(password: string, stored: string): Promise<boolean>;
  /** Whether a stored hash was made with older or weaker parameters (re-hash it on the next successful login). */
  needsRehash(stored: string): boolean;
}

export interface IssuedToken {
  readonly token: string;
  readonly expiresAt: Date;
}

export interface TokenClaims {
  readonly userId: number;
  /** The session an access token belongs to; null for tokens of an external identity provider. */
  readonly sessionId: string | null;
}

export interface TokenService {
  /** A short-lived access token for one session. */
  issue(claims: { userId: number; sessionId: string }): Promise<IssuedToken>;
  /** What the token speaks for, or null when it is malformed, forged, expired or lives too long. */
  verify(token: string): Promise<TokenClaims | null>;
  /** A new opaque refresh token and the hash that is stored in its place. */
  newRefreshToken(): { token: string; hash: string };
  hashRefreshToken(token: string): string;
}

export interface LogFn {
  (obj: object, msg?: string): void;
  (msg: string): void;
}

/** Shaped like pino's, so the pino adapter is a pass-through. */
export interface Logger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  child(bindings: Record<string, unknown>): Logger;
}
