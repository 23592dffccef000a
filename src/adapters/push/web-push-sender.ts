import webpush from 'web-push';
import type { PushOptions, PushResult, PushSender, PushSubscription } from '../../application/ports/push.js';

/** What the sender needs of the outbound-request guard: one POST, its status, never a throw. */
export type GuardedPost = (
  url: string,
  request: { method: 'POST'; headers: Record<string, string>; body: Buffer; timeoutMs: number; connectTimeoutMs: number; maxResponseBytes: number },
) => Promise<{ readonly ok: true; readonly status: number } | { readonly ok: false; readonly failure: string; readonly message: string }>;

export interface WebPushSenderOptions {
  readonly vapid: { readonly publicKey: string; readonly privateKey: string; readonly subject: string };
  /** The guarded request (SSRF checks at connect time, timeouts, no redirects, bounded answers). */
  readonly post: GuardedPost;
  /** Connect, headers and body within this. @default 10000 */
  readonly timeoutMs?: number;
}

/**
 * Web Push with the `web-push` package for the protocol (RFC 8291 aes128gcm
 * encryption, RFC 8292 VAPID headers) and the outbound guard for the request,
 * so a push endpoint is held to the same rules as any URL a user gives.
 */
export class WebPushSender implements PushSender {
  /** VAPID's signed token per push service (RFC 8292 lets one serve up to 24 h): an ES256 signature per push would cost more than the push. */
  private readonly vapidHeaders = new Map<string, { readonly authorization: string; readonly until: number }>();

  constructor(private readonly o: WebPushSenderOptions) {}

  private authorization(endpoint: string): string {
    const audience = new URL(endpoint).origin;
    const now = Date.now();
    const cached = this.vapidHeaders.get(audience);
    if (cached && cached.until > now) return cached.authorization;
    // Valid 12 h, used for 11 h; the map holds one entry per push service (a handful).
    const expiration = Math.floor(now / 1000) + 12 * 3600;
    const { vapid } = this.o;
    const headers = webpush.getVapidHeaders(audience, vapid.subject, vapid.publicKey, vapid.privateKey, 'aes128gcm', expiration);
    const authorization = String(headers.Authorization);
    if (this.vapidHeaders.size > 1_000) this.vapidHeaders.clear();
    this.vapidHeaders.set(audience, { authorization, until: now + 11 * 3600 * 1000 });
    return authorization;
  }

  async send(subscription: PushSubscription, payload: string, options: PushOptions): Promise<PushResult> {
    let details: ReturnType<typeof webpush.generateRequestDetails>;
    try {
      details = webpush.generateRequestDetails({ endpoint: subscription.endpoint, keys: { p256dh: subscription.p256dh, auth: subscription.auth } }, payload, {
        headers: { Authorization: this.authorization(subscription.endpoint) },
        TTL: options.ttlSeconds,
        urgency: options.urgency,
        topic: options.topic,
        contentEncoding: 'aes128gcm',
      });
    } catch {
      // Keys that passed validation but are not a point on the curve: nothing can ever be sent to it.
      return { outcome: 'gone', detail: 'keys unusable' };
    }
    const headers = Object.fromEntries(Object.entries(details.headers).map(([name, value]) => [name, String(value)]));
    const timeoutMs = this.o.timeoutMs ?? 10_000;
    const answer = await this.o.post(details.endpoint, {
      method: 'POST',
      headers,
      body: Buffer.from(details.body ?? Buffer.alloc(0)),
      timeoutMs,
      connectTimeoutMs: Math.min(5_000, timeoutMs),
      // Push services answer with a short status body at most; nothing in it is read.
      maxResponseBytes: 4_096,
    });
    if (!answer.ok) return { outcome: 'failed', detail: `${answer.failure}: ${answer.message.slice(0, 200)}` };
    if (answer.status >= 200 && answer.status < 300) return { outcome: 'delivered' };
    // RFC 8030 §7.3: the subscription has expired or was removed.
    if (answer.status === 404 || answer.status === 410) return { outcome: 'gone', detail: `status ${answer.status}` };
    return { outcome: 'rejected', detail: `status ${answer.status}` };
  }
}
