import { createHash, randomBytes } from 'node:crypto';
import type { ResetTokens } from '../../application/ports/password-resets.js';

/** 32 random bytes in base64url: 43 characters, no padding. */
const SHAPE = /^[A-Za-z0-9_-]{43}$/;

/** Reset tokens carry 256 random bits, so a plain SHA-256 is as good as a slow hash here. */
export class Sha256ResetTokens implements ResetTokens {
  generate(): { token: string; hash: string } {
    const token = randomBytes(32).toString('base64url');
    return { token, hash: digest(token) };
  }

  hashOf(token: string): string | null {
    return SHAPE.test(token) ? digest(token) : null;
  }
}

const digest = (token: string) => createHash('sha256').update(token).digest('base64url');
