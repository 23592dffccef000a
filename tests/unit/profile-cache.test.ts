import { describe, expect, it } from 'vitest';
import { CachingProfileRepository } from '../../src/adapters/cache/caching-profile-repository.js';
import type { Profile, ProfileRepository } from '../../src/application/ports/profile-repository.js';
import type { User } from '../../src/domain/user.js';

const user = (id: number, isActive = true): User => ({
  id,
  email: `u${id}@x.io`,
  username: `u${id}`,
  passwordHash: 'h',
  phoneNumber: null,
  profilePicture: null,
  role: 'tenant',
  isActive,
  isStaff: false,
  isSuperuser: false,
  dateJoined: new Date(0),
  lastLogin: null,
  createdAt: new Date(0),
  updatedAt: new Date(0),
});

/** A repository whose answer the test controls, and which counts its reads; a read can be held open. */
class Controlled implements ProfileRepository {
  reads = 0;
  answer: Profile = { user: user(1), session: null, conversationIds: [10] };
  hold: Promise<void> | null = null;
  async load(): Promise<Profile> {
    this.reads += 1;
    const answer = this.answer;
    await this.hold;
    return answer;
  }
}

describe('the profile cache', () => {
  it('answers a user seen recently without a read, and applies membership changes to it', async () => {
    const inner = new Controlled();
    const cache = new CachingProfileRepository(inner);
    await cache.load(1, null);
    cache.membershipChanged({ conversationId: 11, userId: 1, added: true });
    cache.membershipChanged({ conversationId: 10, userId: 1, added: false });
    expect([...(await cache.load(1, null)).conversationIds]).toEqual([11]);
    expect(inner.reads).toBe(1);
  });

  it('never keeps a load that a change overtook, and forgets a user whose access changed', async () => {
    const inner = new Controlled();
    const cache = new CachingProfileRepository(inner);
    let release!: () => void;
    inner.hold = new Promise((r) => (release = r));
    const loading = cache.load(1, null);
    // Deactivated while the read was in flight: the (active) answer it returns is used once, never kept.
    cache.accessChanged({ userId: 1, sessionId: null, change: 'deactivated' });
    release();
    expect((await loading).user?.isActive).toBe(true);
    inner.hold = null;
    inner.answer = { user: user(1, false), session: null, conversationIds: [] };
    expect((await cache.load(1, null)).user?.isActive).toBe(false);
    expect(inner.reads).toBe(2);
    cache.accessChanged({ userId: 1, sessionId: null, change: 'changed' });
    await cache.load(1, null);
    expect(inner.reads).toBe(3);
    cache.resynced();
    await cache.load(1, null);
    expect(inner.reads).toBe(4);
  });
});
