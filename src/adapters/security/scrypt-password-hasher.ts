import { pbkdf2, randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import type { PasswordHasher } from '../../application/ports/services.js';

const scryptAsync = (password: string, salt: Buffer, keylen: number, options: ScryptOptions) =>
  new Promise<Buffer>((resolve, reject) =>
    scrypt(password, salt, keylen, options, (err, key) => (err ? reject(err) : resolve(key))),
  );

const pbkdf2Async = (password: string, salt: string, iterations: number, keylen: number) =>
  new Promise<Buffer>((resolve, reject) =>
    pbkdf2(password, salt, iterations, keylen, 'sha256', (err, key) => (err ? reject(err) : resolve(key))),
  );

export interface ScryptOptionsInput {
  /** CPU/memory cost, a power of two. @default 16384 (16 MiB with r = 8) */
  readonly cost?: number;
}

/**
 * Memory-hard hashing with node's scrypt, stored as `scrypt$N$r$p$salt$hash`.
 * Also verifies Django's `pbkdf2_sha256$...` hashes, so accounts imported from
 * the identity provider keep their passwords.
 */
export class ScryptPasswordHasher implements PasswordHasher {
  private readonly cost: number;

  constructor(options: ScryptOptionsInput = {}) {
    this.cost = options.cost ?? 16384;
  }

  async hash(password: string): Promise<string> {
    const salt = randomBytes(16);
    const key = await scryptAsync(password, salt, 32, { N: this.cost, r: 8, p: 1, maxmem: 64 * 1024 * 1024 });
    return ['scrypt', this.cost, 8, 1, salt.toString('base64'), key.toString('base64')].join('$');
  }

  async verify(password: string, stored: string): Promise<boolean> {
    const parts = stored.split('$');
    if (parts[0] === 'scrypt' && parts.length === 6) {
      const [, n, r, p, salt, hash] = parts as [string, string, string, string, string, string];
      const expected = Buffer.from(hash, 'base64');
      const key = await scryptAsync(password, Buffer.from(salt, 'base64'), expected.length, {
        N: Number(n),
        r: Number(r),
        p: Number(p),
        maxmem: 256 * 1024 * 1024,
      });
      return expected.length > 0 && timingSafeEqual(key, expected);
    }
    if (parts[0] === 'pbkdf2_sha256' && parts.length === 4) {
      const [, iterations, salt, hash] = parts as [string, string, string, string];
      const expected = Buffer.from(hash, 'base64');
      const key = await pbkdf2Async(password, salt, Number(iterations), expected.length);
      return expected.length > 0 && timingSafeEqual(key, expected);
    }
    return false;
  }
}
