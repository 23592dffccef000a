import { generateKeyPairSync, pbkdf2Sync, randomBytes, scryptSync } from 'node:crypto';
import { SignJWT, importPKCS8 } from 'jose';
import { describe, expect, it } from 'vitest';
import { JoseTokenService } from '../../src/adapters/security/jose-token-service.js';
import { Argon2PasswordHasher } from '../../src/adapters/security/password-hasher.js';

const clock = (offsetSeconds = 0) => ({ now: () => new Date(Date.now() + offsetSeconds * 1000) });
const SECRET = 's'.repeat(32);
const SID = '6f1c1b1e-7a0c-4b7e-9d5a-3c2b1a0f9e8d';
const sign = async (payload: Record<string, unknown>, secret = SECRET) =>
  new SignJWT(payload).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(secret));
const now = () => Math.floor(Date.now() / 1000);

describe('JoseTokenService', () => {
  const jwt = new JoseTokenService({ secret: SECRET, ttlSeconds: 60, clock: clock() });

  it('round-trips the user and session and refuses tampering, other secrets, expiry and alg none', async () => {
    const { token, expiresAt } = await jwt.issue({ userId: 42, sessionId: SID });
    expect(await jwt.verify(token)).toEqual({ userId: 42, sessionId: SID });
    expect(expiresAt.getTime()).toBeGreaterThan(Date.now() + 50_000);
    const [h, p, s] = token.split('.');
    const tampered = `${h}.${Buffer.from(JSON.stringify({ sub: '1', exp: now() + 60 })).toString('base64url')}.${s}`;
    expect(await jwt.verify(tampered)).toBeNull();
    expect(await new JoseTokenService({ secret: 'x'.repeat(32), clock: clock() }).verify(token)).toBeNull();
    expect(await new JoseTokenService({ secret: SECRET, clock: clock(120) }).verify(token)).toBeNull();
    const none = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${p}.`;
    expect(await jwt.verify(none)).toBeNull();
    expect(await jwt.verify(`${h}.${p}`)).toBeNull();
    expect(await jwt.verify('')).toBeNull();
  });

  it('refuses a token signed with the secret that lives longer than the maximum lifetime', async () => {
    expect(await jwt.verify(await sign({ sub: '5', iat: now(), exp: now() + 100 * 365 * 86_400 }))).toBeNull();
    expect(await jwt.verify(await sign({ sub: '5', exp: now() + 2 * 86_400 }))).toBeNull();
    expect(await jwt.verify(await sign({ sub: '5', sid: SID, iat: now(), exp: now() + 3600 }))).toEqual({ userId: 5, sessionId: SID });
  });

  it('reads the configured claim (Django SimpleJWT: user_id, token_type access) and refuses refresh tokens', async () => {
    const simple = new JoseTokenService({ secret: SECRET, userIdClaim: 'user_id', sharedSecretProvider: true, clock: clock() });
    const { token } = await simple.issue({ userId: 7, sessionId: SID });
    expect(JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString())).toMatchObject({ user_id: 7, sid: SID });
    expect(await simple.verify(await sign({ user_id: 8, token_type: 'access', exp: now() + 300 }))).toEqual({ userId: 8, sessionId: null });
    expect(await simple.verify(await sign({ user_id: 8, token_type: 'refresh', exp: now() + 300 }))).toBeNull();
  });

  it('refuses an HS256 token without a session unless a provider sharing the secret is configured, and one whose sid is no session id', async () => {
    const sessionless = await sign({ sub: '5', exp: now() + 300 });
    expect(await jwt.verify(sessionless)).toBeNull();
    const provider = new JoseTokenService({ secret: SECRET, sharedSecretProvider: true, clock: clock() });
    expect(await provider.verify(sessionless)).toEqual({ userId: 5, sessionId: null });
    for (const sid of ['1; DROP TABLE sessions', SID.toUpperCase(), '', null, 42, { id: SID }]) {
      expect(await jwt.verify(await sign({ sub: '5', sid, exp: now() + 300 })), String(sid)).toBeNull();
      expect(await provider.verify(await sign({ sub: '5', sid, exp: now() + 300 })), String(sid)).toBeNull();
    }
  });

  it('checks issuer and audience when configured, on its own tokens and others alike', async () => {
    const strict = new JoseTokenService({ secret: SECRET, issuer: 'https://id.example.com', audience: 'chat', clock: clock() });
    const { token } = await strict.issue({ userId: 3, sessionId: SID });
    expect(await strict.verify(token)).toEqual({ userId: 3, sessionId: SID });
    expect(await strict.verify(await sign({ sub: '3', iss: 'https://id.example.com', aud: 'other', exp: now() + 60 }))).toBeNull();
    expect(await strict.verify(await sign({ sub: '3', iss: 'https://evil.example.com', aud: 'chat', exp: now() + 60 }))).toBeNull();
    expect(await strict.verify(await sign({ sub: '3', exp: now() + 60 }))).toBeNull();
  });

  for (const [alg, keys] of [
    ['RS256', generateKeyPairSync('rsa', { modulusLength: 2048 })],
    ['ES256', generateKeyPairSync('ec', { namedCurve: 'P-256' })],
  ] as const) {
    it(`verifies an identity provider's ${alg} token with its PEM public key, ignoring its sid`, async () => {
      const pem = keys.publicKey.export({ type: 'spki', format: 'pem' }).toString();
      const provider = new JoseTokenService({ secret: SECRET, publicKeyPem: pem, issuer: 'https://id.example.com', audience: 'chat', clock: clock() });
      const privateKey = await importPKCS8(keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), alg);
      const issue = (aud: string) =>
        new SignJWT({ sid: 'their-session' })
          .setProtectedHeader({ alg })
          .setSubject('11')
          .setIssuer('https://id.example.com')
          .setAudience(aud)
          .setIssuedAt()
          .setExpirationTime('10m')
          .sign(privateKey);
      expect(await provider.verify(await issue('chat'))).toEqual({ userId: 11, sessionId: null });
      expect(await provider.verify(await issue('other'))).toBeNull();
      // Without the key configured, the same token is refused.
      expect(await jwt.verify(await issue('chat'))).toBeNull();
    });
  }

  it('makes opaque refresh tokens and stores only their hash', () => {
    const { token, hash } = jwt.newRefreshToken();
    expect(token).toMatch(/^rt_[A-Za-z0-9_-]{43}$/);
    expect(hash).not.toContain(token.slice(3));
    expect(jwt.hashRefreshToken(token)).toBe(hash);
    expect(jwt.newRefreshToken().token).not.toBe(token);
  });
});

describe('Argon2PasswordHasher', () => {
  const hasher = new Argon2PasswordHasher({ memoryCost: 1024, timeCost: 1 });

  it('salts, verifies, and never stores the password', async () => {
    const [one, two] = [await hasher.hash('hunter22'), await hasher.hash('hunter22')];
    expect(one).toMatch(/^\$argon2id\$v=19\$m=1024,t=1,p=1\$/);
    expect(one).not.toBe(two);
    expect(one).not.toContain('hunter22');
    expect(await hasher.verify('hunter22', one)).toBe(true);
    expect(await hasher.verify('hunter23', one)).toBe(false);
    expect(await hasher.verify('hunter22', 'garbage')).toBe(false);
    expect(await hasher.verify('hunter22', '$argon2id$garbage')).toBe(false);
  });

  it('uses OWASP parameters by default', async () => {
    expect(await new Argon2PasswordHasher().hash('x')).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  });

  it("verifies Django's pbkdf2_sha256 and earlier scrypt hashes, and marks them (and weaker argon2 ones) for re-hashing", async () => {
    const django = `pbkdf2_sha256$1000$somesalt$${pbkdf2Sync('imported', 'somesalt', 1000, 32, 'sha256').toString('base64')}`;
    expect(await hasher.verify('imported', django)).toBe(true);
    expect(await hasher.verify('wrong', django)).toBe(false);
    const salt = randomBytes(16);
    const scrypt = ['scrypt', 1024, 8, 1, salt.toString('base64'), scryptSync('old one', salt, 32, { N: 1024, r: 8, p: 1 }).toString('base64')].join('$');
    expect(await hasher.verify('old one', scrypt)).toBe(true);
    expect([django, scrypt].map((h) => hasher.needsRehash(h))).toEqual([true, true]);
    // Django's Argon2PasswordHasher writes its name before a standard argon2 hash.
    const djangoArgon2 = `argon2${await hasher.hash('from django')}`;
    expect(await hasher.verify('from django', djangoArgon2)).toBe(true);
    expect(await hasher.verify('not it', djangoArgon2)).toBe(false);
    expect(hasher.needsRehash(djangoArgon2)).toBe(true);
    // Hashes it cannot verify are a mismatch, not an error: Django's scrypt (another field order) and bcrypt.
    expect(await hasher.verify('x', 'scrypt$16384$somesalt$8$1$aGVsbG8=')).toBe(false);
    expect(await hasher.verify('x', 'scrypt$3$8$1$c2FsdA==$aGVsbG8=')).toBe(false);
    expect(await hasher.verify('x', 'bcrypt_sha256$$2b$12$abcdefghijklmnopqrstuv')).toBe(false);
    expect(hasher.needsRehash(await hasher.hash('x'))).toBe(false);
    expect(new Argon2PasswordHasher().needsRehash(await hasher.hash('x'))).toBe(true);
  });
});
