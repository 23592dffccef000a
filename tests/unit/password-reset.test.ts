import { describe, expect, it } from 'vitest';
import type { AccessChangeNotice, Broadcaster } from '../../src/application/ports/fanout.js';
import type { Mail, Mailer } from '../../src/application/ports/mailer.js';
import { FORGOT_ANSWER, RequestPasswordReset, ResetPassword, type PasswordResetPolicy } from '../../src/application/use-cases/password-reset.js';
import { KeyedLimiter } from '../../src/adapters/gateway/rate-limits.js';
import { InMemoryLoginAttempts } from '../../src/adapters/memory/in-memory-login-attempts.js';
import { InMemoryPasswordResetStore } from '../../src/adapters/memory/in-memory-password-reset-store.js';
import { InMemorySessionRepository } from '../../src/adapters/memory/in-memory-session-repository.js';
import { InMemoryStore } from '../../src/adapters/memory/in-memory-store.js';
import { InMemoryUserRepository } from '../../src/adapters/memory/in-memory-user-repository.js';
import { Argon2PasswordHasher } from '../../src/adapters/security/password-hasher.js';
import { Sha256ResetTokens } from '../../src/adapters/security/sha256-reset-tokens.js';
import { createHash } from 'node:crypto';
import { silentLogger } from '../support/silent-logger.js';

const MINUTE = 60_000;
const POLICY: PasswordResetPolicy = {
  ttlMs: 30 * MINUTE,
  maxPerAccount: 2,
  accountWindowMs: 60 * MINUTE,
  linkPrefix: 'https://app.test/#reset_token=',
  maxPending: 100,
};

/** Both use cases over in-memory adapters, a clock the test moves, and a mailbox. */
function setUp(options: { perAddressPerHour?: number } = {}) {
  let now = Date.parse('2026-12-04T10:00:00Z');
  const clock = { now: () => new Date(now) };
  const memory = new InMemoryStore();
  const users = new InMemoryUserRepository(memory);
  const store = new InMemoryPasswordResetStore();
  const tokens = new Sha256ResetTokens();
  const sent: Mail[] = [];
  const mailer: Mailer = { send: async (mail) => void sent.push(mail) };
  const changes: AccessChangeNotice[] = [];
  const broadcaster = { accessChanged: async (c: AccessChangeNotice) => void changes.push(c) } as unknown as Broadcaster;
  const hasher = new Argon2PasswordHasher({ memoryCost: 1024, timeCost: 1 });
  const perHour = options.perAddressPerHour ?? 0;
  const forgot = new RequestPasswordReset(users, store, tokens, mailer, new KeyedLimiter(perHour / 60, perHour), POLICY, clock, silentLogger);
  const reset = new ResetPassword(users, store, tokens, hasher, new InMemorySessionRepository(), new InMemoryLoginAttempts(), broadcaster, clock);
  let n = 0;
  return {
    users,
    /** Deactivated by staff: kept, but with is_active false. */
    deactivate: (id: number) => {
      const row = memory.users.get(id)!;
      row.value = { ...row.value, isActive: false };
    },
    sent,
    changes,
    forgot,
    advance: (ms: number) => void (now += ms),
    async user() {
      const r = await users.create(
        {
          email: `u${++n}@example.com`,
          username: `u${n}`,
          passwordHash: await hasher.hash('old password'),
          phoneNumber: null,
          profilePicture: null,
          role: 'tenant',
        },
        clock.now(),
      );
      if (!r.ok) throw new Error(r.error.code);
      return r.value;
    },
    /** Asks for a link and resolves to the tokens mailed to `email` so far. */
    async ask(email: string) {
      expect(forgot.execute({ email })).toEqual(FORGOT_ANSWER);
      await forgot.idle();
      return sent.filter((m) => m.to === email).map((m) => /#reset_token=([A-Za-z0-9_-]{43})$/m.exec(m.text)![1]!);
    },
    async codeOf(token: string) {
      const r = await reset.execute({ token, password: 'new password' });
      return r.ok ? 'ok' : r.error.code;
    },
  };
}

describe('reset tokens', () => {
  it('are 32 random bytes in base64url, stored as their SHA-256; anything not shaped like one has no digest', () => {
    const tokens = new Sha256ResetTokens();
    const a = tokens.generate();
    const b = tokens.generate();
    expect(a.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(a.token, 'base64url')).toHaveLength(32);
    expect(a.token).not.toBe(b.token);
    expect(a.hash).toBe(createHash('sha256').update(a.token).digest('base64url'));
    expect(tokens.hashOf(a.token)).toBe(a.hash);
    for (const bad of ['', a.token.slice(1), `${a.token}=`, `${a.token.slice(1)}+`, `${a.token.slice(1)}/`, ` ${a.token.slice(1)}`])
      expect(tokens.hashOf(bad)).toBeNull();
  });
});

describe('password reset', () => {
  it('a token works until its expiry, once, and only while it is the newest', async () => {
    const t = setUp();
    const user = await t.user();
    const [first] = await t.ask(user.email);
    t.advance(POLICY.ttlMs);
    expect(await t.codeOf(first!)).toBe('RESET_TOKEN_INVALID');

    const [, second] = await t.ask(user.email);
    t.advance(POLICY.ttlMs - 1);
    expect(await t.codeOf(second!)).toBe('ok');
    expect(await t.codeOf(second!)).toBe('RESET_TOKEN_INVALID');
    expect(t.changes).toEqual([{ userId: user.id, sessionId: null, change: 'credentials' }]);

    t.advance(POLICY.accountWindowMs);
    const [, , third] = await t.ask(user.email);
    const [, , , fourth] = await t.ask(user.email);
    expect(await t.codeOf(third!)).toBe('RESET_TOKEN_INVALID');
    expect(await t.codeOf(fourth!)).toBe('ok');
  });

  it('mails an account at most maxPerAccount links per window, with the same answer beyond', async () => {
    const t = setUp();
    const user = await t.user();
    expect(await t.ask(user.email)).toHaveLength(1);
    expect(await t.ask(user.email.toUpperCase())).toHaveLength(0);
    expect(t.sent).toHaveLength(2);
    expect(await t.ask(user.email)).toHaveLength(2);
    expect(t.sent).toHaveLength(2);
    t.advance(POLICY.accountWindowMs);
    await t.ask(user.email);
    expect(t.sent).toHaveLength(3);
  });

  it('mails one address at most its budget of links per hour, known or not, and other addresses still get theirs', async () => {
    const t = setUp({ perAddressPerHour: 1 });
    const [a, b] = [await t.user(), await t.user()];
    expect(await t.ask(a.email)).toHaveLength(1);
    expect(await t.ask(a.email)).toHaveLength(1);
    expect(await t.ask(b.email)).toHaveLength(1);
  });

  it('sends nothing for an unknown, deleted or deactivated address, with the same answer', async () => {
    const t = setUp();
    const gone = await t.user();
    await t.users.softDelete(gone.id, new Date());
    const inactive = await t.user();
    t.deactivate(inactive.id);
    expect(await t.ask('nobody@example.com')).toEqual([]);
    expect(await t.ask(gone.email)).toEqual([]);
    expect(await t.ask(inactive.email)).toEqual([]);
    const known = await t.user();
    expect(await t.ask(known.email)).toHaveLength(1);
    expect(t.sent.map((m) => m.to)).toEqual([known.email]);
  });
});
