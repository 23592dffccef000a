export interface Clock {
  now(): Date;
}

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(password: string, stored: string): Promise<boolean>;
}

export interface IssuedToken {
  readonly token: string;
  readonly expiresAt: Date;
}

export interface TokenService {
  issue(userId: number): IssuedToken;
  /** The user id the token speaks for, or null when it is malformed, forged or expired. */
  verify(token: string): { userId: number } | null;
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
