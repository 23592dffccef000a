import { pbkdf2, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { hash as argon2Hash, verify as argon2Verify } from '@node-rs/argon2';

/** `Algorithm.Argon2id` (a const enum, which isolated modules cannot read). */
const ARGON2ID = 2;
import type { PasswordHasher } from '../../application/ports/services.js';

const scryptAsync = (password: string, salt: Buffer, keylen: number, options: ScryptOptions) =>
  new Promise<Buffer>((resolve, reject) => scrypt(password, salt, keylen, options, (err, key) => (err ? reject(err) : resolve(key))));

const pbkdf2Async = (password: string, salt: string, iterations: number, keylen: number) =>
  new Promise<Buffer>((resolve, reject) => pbkdf2(password, salt, iterations, keylen, 'sha256', (err, key) => (err ? reject(err) : resolve(key))));

export interface Argon2Parameters {
  /** KiB. @default 19456 (19 MiB, OWASP's minimum for argon2id) */
  readonly memoryCost?: number;
  /** @default 2 */
  readonly timeCost?: number;
  /** @default 1 */
  readonly parallelism?: number;
}

/**
 * argon2id with OWASP's parameters for new hashes. Still verifies this
 * server's earlier scrypt hashes (`scrypt$N$r$p$salt$hash`) and Django's
 * `pbkdf2_sha256$...` (its default) and `argon2$argon2id$...`, and reports them (or argon2 hashes with weaker
 * parameters) as due for re-hashing on the next successful login.
 */
export class Argon2PasswordHasher implements PasswordHasher {
  private readonly params: Required<Argon2Parameters>;
  private readonly current: string;

  constructor(params: Argon2Parameters = {}) {
    this.params = { memoryCost: params.memoryCost ?? 19_456, timeCost: params.timeCost ?? 2, parallelism: params.parallelism ?? 1 };
    this.current = `$argon2id$v=19$m=${this.params.memoryCost},t=${this.params.timeCost},p=${this.params.parallelism}$`;
  }

  hash(password: string): Promise<string> {
    return argon2Hash(password, { algorithm: ARGON2ID, ...this.params });
  }

  async verify(password: string, stored: string): Promise<boolean> {
    // Django's Argon2PasswordHasher: its name, then a standard (PHC) argon2 hash.
    if (stored.startsWith('argon2$argon2')) return this.verify(password, stored.slice('argon2'.length));
    if (stored.startsWith('$argon2')) {
      try {
        return await argon2Verify(stored, password);
      } catch {
        return false; // a malformed stored hash
      }
    }
    const parts = stored.split('$');
    if (parts[0] === 'scrypt' && parts.length === 6) {
      const [, n, r, p, salt, hash] = parts as [string, string, string, string, string, string];
      const expected = Buffer.from(hash, 'base64');
      // Django's scrypt hashes share the prefix in another order (scrypt$N$salt$r$p$hash): not ours, so no match.
      if (![n, r, p].every((v) => /^\d{1,8}$/.test(v))) return false;
      try {
        const key = await scryptAsync(password, Buffer.from(salt, 'base64'), expected.length, {
          N: Number(n),
          r: Number(r),
          p: Number(p),
          maxmem: 256 * 1024 * 1024,
        });
        return expected.length > 0 && timingSafeEqual(key, expected);
      } catch {
        return false; // parameters scrypt refuses
      }
    }
    if (parts[0] === 'pbkdf2_sha256' && parts.length === 4) {
      const [, iterations, salt, hash] = parts as [string, string, string, string];
      const expected = Buffer.from(hash, 'base64');
      const key = await pbkdf2Async(password, salt, Number(iterations), expected.length);
      return expected.length > 0 && timingSafeEqual(key, expected);
    }
    return false;
  }

  needsRehash(stored: string): boolean {
    return !stored.startsWith(this.current);
  }
}
