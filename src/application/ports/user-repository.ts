import type { Result } from '../../domain/result.js';
import type { NewUser, User } from '../../domain/user.js';
import type { ParticipantSummary } from '../../domain/conversation.js';

/** Users, soft-deleted ones invisible to every finder. */
export interface UserRepository {
  /** Fails with EMAIL_TAKEN or USERNAME_TAKEN. Emails and usernames are compared without regard to case. */
  create(user: NewUser, now: Date): Promise<Result<User>>;
  findById(id: number): Promise<User | null>;
  findByEmail(email: string): Promise<User | null>;
  findByUsername(username: string): Promise<User | null>;
  /** Id and username of each existing user among `ids` (unknown ids are left out). */
  findSummaries(ids: readonly number[]): Promise<ParticipantSummary[]>;
  recordLogin(id: number, at: Date): Promise<void>;
  /** The same password under a new hash (stronger parameters): not a password change, so no session ends. */
  rehashPassword(id: number, passwordHash: string, at: Date): Promise<void>;
  /** A new password: every session of the user ends (the caller revokes them). */
  changePassword(id: number, passwordHash: string, at: Date): Promise<void>;
  softDelete(id: number, at: Date): Promise<void>;
}
