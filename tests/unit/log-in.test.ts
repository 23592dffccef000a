import { describe, expect, it } from 'vitest';
import { InMemoryLoginAttempts } from '../../src/adapters/memory/in-memory-login-attempts.js';
import { InMemoryStore } from '../../src/adapters/memory/in-memory-store.js';
import { InMemoryUserRepository } from '../../src/adapters/memory/in-memory-user-repository.js';
import { randomUUID } from 'node:crypto';
import { InMemorySessionRepository } from '../../src/adapters/memory/in-memory-session-repository.js';
import { JoseTokenService } from '../../src/adapters/security/jose-token-service.js';
import { Argon2PasswordHasher } from '../../src/adapters/security/password-hasher.js';
import { Sessions } from '../../src/application/sessions.js';
import type { PasswordHasher } from '../../src/application/ports/services.js';
import { LogIn } from '../../src/application/use-cases/log-in.js';

/** A real hasher that counts its work: a login's cost is the one hash it verifies. */
class CountingHasher implements PasswordHasher {
  verified = 0;
  private readonly real = new Argon2PasswordHasher({ memoryCost: 1024, timeCost: 1 });
  hash(password: string) {
    return this.real.hash(password);
  }
  verify(password: string, stored: string) {
    this.verified += 1;
    return this.real.verify(password, stored);
  }
  needsRehash(stored: string) {
    return this.real.needsRehash(stored);
  }
}

describe('logging in', () => {
  it('verifies exactly one password hash whether the account exists or not, and whatever the password', async () => {
    const hasher = new CountingHasher();
    const users = new InMemoryUserRepository(new InMemoryStore());
    const clock = { now: () => new Date() };
    const sessions = new Sessions(
      new InMemorySessionRepository(),
      new JoseTokenService({ secret: 'x'.repeat(40), clock }),
      clock,
      { refreshTtlMs: 60_000 },
      randomUUID,
    );
    const logIn = new LogIn(users, hasher, sessions, new InMemoryLoginAttempts(), { maxFailures: 100, windowMs: 60_000, lockMs: 60_000 }, clock);
    const created = await users.create(
      { email: 'a@x.io', username: 'known', passwordHash: await hasher.hash('right password'), phoneNumber: null, profilePicture: null, role: 'tenant' },
      new Date(),
    );
    expect(created.ok).toBe(true);
    const cost = async (input: { username: string; password: string }) => {
      const before = hasher.verified;
      const result = await logIn.execute(input, { label: 'test', ip: null });
      return [hasher.verified - before, result.ok ? 'ok' : result.error.code];
    };
    expect(await cost({ username: 'nobody', password: 'whatever' })).toEqual([1, 'INVALID_CREDENTIALS']);
    expect(await cost({ username: 'known', password: 'wrong' })).toEqual([1, 'INVALID_CREDENTIALS']);
    expect(await cost({ username: 'known', password: 'right password' })).toEqual([1, 'ok']);
  });
});
