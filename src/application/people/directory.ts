import { fail, ok, type Result } from '../../domain/result.js';
import type { Actor } from '../../domain/user.js';
import type { PeopleRepository, PublicProfile } from '../ports/people.js';
import type { PresenceStatus, PresenceStore } from '../ports/presence-store.js';
import { MIN_QUERY_LENGTH, type DirectoryQueryInput } from './people-schemas.js';

/** Who may be found: everyone, only people who share a conversation with the caller, or nobody (docs/SECURITY.md). */
export const DIRECTORY_MODES = ['all', 'shared', 'off'] as const;
export type DirectoryMode = (typeof DIRECTORY_MODES)[number];

export interface PresentProfile extends PublicProfile {
  readonly online: boolean;
  readonly lastSeenAt: Date | null;
}

export interface DirectoryPage {
  readonly users: PresentProfile[];
  /** Pass as `after` for the next page; null at the end. */
  readonly nextAfter: number | null;
}

const userNotFound = <T>(id: number): Result<T> => fail('USER_NOT_FOUND', `User ${id} does not exist`);

export const withStatus = (p: PublicProfile, status: PresenceStatus | undefined): PresentProfile => ({
  ...p,
  online: status?.online ?? false,
  lastSeenAt: status?.lastSeenAt ?? null,
});

/**
 * Finding people and reading a profile. Under `shared` and `off` a profile is
 * visible only to people who share a conversation with its user (and to
 * staff); anyone else gets USER_NOT_FOUND, as for a user who does not exist.
 */
export class Directory {
  constructor(
    private readonly people: PeopleRepository,
    private readonly presence: PresenceStore,
    private readonly mode: DirectoryMode,
  ) {}

  async search(actor: Actor, input: DirectoryQueryInput): Promise<Result<DirectoryPage>> {
    if (this.mode === 'off' && !actor.isStaff) return fail('FORBIDDEN', 'The directory is turned off on this server');
    const prefix = input.query.normalize('NFKC').trim().toLowerCase();
    if ([...prefix].length < MIN_QUERY_LENGTH) return fail('QUERY_TOO_SHORT', `A query needs at least ${MIN_QUERY_LENGTH} characters`);
    const found = await this.people.search({
      prefix,
      callerId: actor.id,
      sharedOnly: this.mode !== 'all' && !actor.isStaff,
      afterId: input.after,
      limit: input.limit,
    });
    const status = await this.presence.statusOf(found.map((p) => p.id));
    return ok({
      users: found.map((p) => withStatus(p, status.get(p.id))),
      nextAfter: found.length === input.limit ? (found.at(-1)?.id ?? null) : null,
    });
  }

  async profile(actor: Actor, userId: number): Promise<Result<PresentProfile>> {
    const found = await this.people.find(userId);
    if (!found) return userNotFound(userId);
    const visible = this.mode === 'all' || actor.isStaff || actor.id === userId || (await this.people.sharesConversation(actor.id, userId));
    if (!visible) return userNotFound(userId);
    // Either of a blocked pair sees the other as offline.
    if (actor.id !== userId && (await this.people.blockedEitherWay(actor.id, userId))) return ok(withStatus(found, undefined));
    const status = await this.presence.statusOf([userId]);
    return ok(withStatus(found, status.get(userId)));
  }
}
