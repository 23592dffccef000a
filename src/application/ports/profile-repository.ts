import type { Session } from '../../domain/session.js';
import type { User } from '../../domain/user.js';

/** What authenticating a request or a connection needs to know of its user. */
export interface Profile {
  /** Null when there is no such user, or they were deleted. */
  readonly user: User | null;
  /** The token's session, when it names one (null if asked for none or there is none). */
  readonly session: Session | null;
  /** The conversations the user takes part in (what a new connection receives). */
  readonly conversationIds: readonly number[];
}

/** Reads a profile in one query (a cache in front of it answers most without one). */
export interface ProfileRepository {
  load(userId: number, sessionId: string | null): Promise<Profile>;
}
