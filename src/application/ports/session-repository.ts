import type { Session } from '../../domain/session.js';

export interface NewSession {
  readonly id: string;
  readonly userId: number;
  readonly deviceLabel: string | null;
  readonly ip: string | null;
  readonly expiresAt: Date;
}

export type Rotation =
  /** The token was current: it is retired and its successor stored. */
  | { readonly kind: 'rotated'; readonly session: Session }
  /**
   * The token was retired already: presented twice (one after the other, or by the loser of two
   * concurrent rotations), so it was stolen or copied. The session is revoked in the same step.
   */
  | { readonly kind: 'reused'; readonly session: Session }
  /** No such token, or its session is over. */
  | { readonly kind: 'unknown' };

/** Sessions and their refresh tokens, which are kept only as hashes. */
export interface SessionRepository {
  create(session: NewSession, refreshTokenHash: string, now: Date): Promise<Session>;
  /**
   * Retires `presentedHash` and stores `nextHash` in its place, moving the expiry to `expiresAt`.
   * Atomic: of concurrent rotations of one token exactly one is `rotated`, every other `reused`.
   */
  rotate(presentedHash: string, nextHash: string, now: Date, expiresAt: Date, device: { deviceLabel: string | null; ip: string | null }): Promise<Rotation>;
  findById(id: string): Promise<Session | null>;
  /** The user's live sessions, most recently used first. */
  listLive(userId: number, now: Date): Promise<Session[]>;
  /** True when it was live. */
  revoke(id: string, now: Date): Promise<boolean>;
  /** Revokes every live session of the user but `exceptId`; returns how many. */
  revokeAll(userId: number, now: Date, exceptId?: string): Promise<number>;
}
