/**
 * A login on one device: it lives as long as its refresh token keeps being
 * rotated, and ends when revoked (logout, a revocation, a password change, a
 * refresh token presented twice).
 */
export interface Session {
  readonly id: string;
  readonly userId: number;
  /** The device as it described itself (its User-Agent). */
  readonly deviceLabel: string | null;
  readonly ip: string | null;
  readonly createdAt: Date;
  readonly lastUsedAt: Date;
  /** When its current refresh token stops working. */
  readonly expiresAt: Date;
  readonly revokedAt: Date | null;
}

/** Session ids are UUIDs, as this server generates them (lower-case). */
export const SESSION_ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export const isSessionId = (value: unknown): value is string => typeof value === 'string' && SESSION_ID_PATTERN.test(value);

export const isLive = (session: Session, now: Date): boolean => session.revokedAt === null && session.expiresAt > now;

/** Why a user's or a session's access ended (or changed, for caches to forget it). */
export const ACCESS_CHANGES = ['logout', 'revoked', 'refresh-reused', 'credentials', 'deactivated', 'deleted', 'changed'] as const;
export type AccessChange = (typeof ACCESS_CHANGES)[number];

/** The changes after which open connections are closed (4001) and tokens refused. */
export const endsAccess = (change: AccessChange): boolean => change !== 'changed';
