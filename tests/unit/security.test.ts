import { describe, expect, it } from 'vitest';
import { JwtTokenService } from '../../src/adapters/security/jwt-token-service.js';
import { ScryptPasswordHasher } from '../../src/adapters/security/scrypt-password-hasher.js';
import { pbkdf2Sync } from 'node:crypto';

const clock = (offsetSeconds = 0) => ({ now: () => new Date(Date.now() + offsetSeconds * 1000) });

describe('JwtTokenService', () => {
  const jwt = new JwtTokenService({ secret: 's'.repeat(32), ttlSeconds: 60, clock: clock() });

  it('round-trips the user id and refuses tampering, other secrets and expiry', () => {
    const { token } = jwt.issue(42);
    expect(jwt.verify(token)).toEqual({ userId: 42 });
    const [h, p, s] = token.split('.');
    const tampered = `${h}.${Buffer.from(JSON.stringify({ sub: '1', exp: 9e9 })).toString('base64url')}.${s}`;
    expect(jwt.verify(tampered)).toBeNull();
    expect(new JwtTokenService({ secret: 'x'.repeat(32), clock: clock() }).verify(token)).toBeNull();
    expect(new JwtTokenService({ secret: 's'.repeat(32), clock: clock(120) }).verify(token)).toBeNull();
    expect(jwt.verify(`${h}.${p}`)).toBeNull();
    expect(jwt.verify('')).toBeNull();
  });

  it('reads the configured claim', () => {
    const simple = new JwtTokenService({ secret: 's'.repeat(32), userIdClaim: 'user_id', clock: clock() });
    const { token } = simple.issue(7);
    expect(JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString())).toMatchObject({ user_id: 7 });
    expect(simple.verify(token)).toEqual({ userId: 7 });
  });
});

describe('ScryptPasswordHasher', () => {
  const hasher = new ScryptPasswordHasher({ cost: 1024 });

  it('salts, verifies, and never stores the password', async () => {
    const [one, two] = [await hasher.hash('hunter22'), await hasher.hash('hunter22')];
    expect(one).not.toBe(two);
    expect(one).not.toContain('hunter22');
    expect(await hasher.verify('hunter22', one)).toBe(true);
    expect(await hasher.verify('hunter23', one)).toBe(false);
    expect(await hasher.verify('hunter22', 'garbage')).toBe(false);
  });

  it("verifies Django's pbkdf2_sha256 hashes of imported accounts", async () => {
    const hash = pbkdf2Sync('imported', 'somesalt', 1000, 32, 'sha256').toString('base64');
    expect(await hasher.verify('imported', `pbkdf2_sha256$1000$somesalt$${hash}`)).toBe(true);
    expect(await hasher.verify('wrong', `pbkdf2_sha256$1000$somesalt$${hash}`)).toBe(false);
  });
});
