import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FileLinks } from '../../application/ports/uploads.js';

export interface HmacFileLinksOptions {
  /** The key links are signed with (derived from the server's token secret, so every process of a cluster agrees). */
  readonly secret: string | Uint8Array;
  /** A download link lasts between this and twice this. @default 900 */
  readonly linkSeconds?: number;
  /** Prefix of the links (an origin, e.g. https://chat.example.com); empty: paths relative to the API. @default '' */
  readonly baseUrl?: string;
  readonly now?: () => number;
}

/**
 * Links to this server's file routes, signed with HMAC-SHA256 over the
 * purpose, the upload id and the expiry. Download links expire at the end of
 * the next whole period, so one message's view keeps the same URL (and the
 * browser's cache) for a while.
 */
export class HmacFileLinks implements FileLinks {
  private readonly key: Buffer;
  private readonly period: number;
  private readonly base: string;
  private readonly now: () => number;

  constructor(o: HmacFileLinksOptions) {
    this.key = createHmac('sha256', o.secret).update('chat-backend file links v1').digest();
    this.period = o.linkSeconds ?? 900;
    this.base = (o.baseUrl ?? '').replace(/\/+$/, '');
    this.now = o.now ?? Date.now;
  }

  uploadUrl(uploadId: string, expiresAt: Date): string {
    const e = Math.floor(expiresAt.getTime() / 1000);
    return `${this.base}/uploads/${uploadId}/content?e=${e}&s=${this.sign('upload', uploadId, String(e))}`;
  }

  downloadUrl(uploadId: string, variant: 'original' | 'thumbnail'): string {
    const nowSeconds = Math.floor(this.now() / 1000);
    const e = (Math.floor(nowSeconds / this.period) + 2) * this.period;
    const v = variant === 'thumbnail' ? '&v=thumbnail' : '';
    return `${this.base}/files/${uploadId}?e=${e}${v}&s=${this.sign(variant, uploadId, String(e))}`;
  }

  check(purpose: 'upload' | 'original' | 'thumbnail', uploadId: string, expires: string, signature: string): 'ok' | 'invalid' | 'expired' {
    if (!/^\d{1,12}$/.test(expires) || !/^[A-Za-z0-9_-]{43}$/.test(signature)) return 'invalid';
    const expected = Buffer.from(this.sign(purpose, uploadId, expires));
    if (!timingSafeEqual(expected, Buffer.from(signature))) return 'invalid';
    return Number(expires) * 1000 <= this.now() ? 'expired' : 'ok';
  }

  private sign(purpose: string, uploadId: string, expires: string): string {
    return createHmac('sha256', this.key).update(`${purpose}\n${uploadId}\n${expires}`).digest('base64url');
  }
}
