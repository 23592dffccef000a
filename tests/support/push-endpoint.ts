import { createDecipheriv, createECDH, createHmac, createPublicKey, randomBytes, verify, type ECDH } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A push service for tests: a plain HTTP server that takes the place of a
 * browser vendor's. Each subscription it hands out has its own key pair and
 * auth secret (as a browser makes them); every push is checked as a push
 * service and a browser would: the VAPID JWT (RFC 8292) against the server's
 * public key, and the aes128gcm body (RFC 8188, RFC 8291) decrypted with the
 * subscription's private key. Written from the RFCs with node:crypto alone, so
 * it shares nothing with the server's implementation.
 */

export interface TestSubscription {
  readonly id: string;
  readonly endpoint: string;
  readonly keys: { readonly p256dh: string; readonly auth: string };
  /** The browser's side: the private key and the auth secret. */
  readonly ecdh: ECDH;
  readonly authSecret: Buffer;
}

export interface ReceivedPush {
  readonly subscriptionId: string;
  readonly headers: http.IncomingHttpHeaders;
  /** The decrypted payload, parsed as JSON. */
  readonly payload: Record<string, unknown>;
  readonly claims: Record<string, unknown>;
}

const b64 = (b: Buffer) => b.toString('base64url');
const hmac = (key: Buffer, data: Buffer) => createHmac('sha256', key).update(data).digest();

/** RFC 8291 §3.4 and RFC 8188 §2: the plaintext of an aes128gcm body for this subscription. */
export function decryptAes128gcm(body: Buffer, ecdh: ECDH, authSecret: Buffer): Buffer {
  if (body.length < 21) throw new Error('body shorter than the aes128gcm header');
  const salt = body.subarray(0, 16);
  const rs = body.readUInt32BE(16);
  const idlen = body[20]!;
  const senderPublic = body.subarray(21, 21 + idlen);
  if (idlen !== 65 || senderPublic[0] !== 0x04) throw new Error('keyid is not an uncompressed P-256 public key');
  if (rs < 18) throw new Error(`record size ${rs} too small`);
  const shared = ecdh.computeSecret(senderPublic);
  const prkKey = hmac(authSecret, shared);
  const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), ecdh.getPublicKey(), senderPublic]);
  const ikm = hmac(prkKey, Buffer.concat([keyInfo, Buffer.from([1])]));
  const prk = hmac(salt, ikm);
  const cek = hmac(prk, Buffer.from('Content-Encoding: aes128gcm\0\x01', 'binary')).subarray(0, 16);
  const baseNonce = hmac(prk, Buffer.from('Content-Encoding: nonce\0\x01', 'binary')).subarray(0, 12);
  const records = body.subarray(21 + idlen);
  const out: Buffer[] = [];
  for (let offset = 0, seq = 0; offset < records.length; offset += rs, seq++) {
    const record = records.subarray(offset, offset + rs);
    const nonce = Buffer.from(baseNonce);
    // The record sequence number, XORed into the nonce's low bits (RFC 8188 §2.3; far fewer than 2^32 records here).
    nonce.writeUInt32BE((nonce.readUInt32BE(8) ^ seq) >>> 0, 8);
    const decipher = createDecipheriv('aes-128-gcm', cek, nonce);
    decipher.setAuthTag(record.subarray(record.length - 16));
    const plain = Buffer.concat([decipher.update(record.subarray(0, record.length - 16)), decipher.final()]);
    let end = plain.length - 1;
    while (end >= 0 && plain[end] === 0) end--;
    const last = offset + rs >= records.length;
    if (end < 0 || plain[end] !== (last ? 2 : 1)) throw new Error('bad padding delimiter');
    out.push(plain.subarray(0, end));
  }
  return Buffer.concat(out);
}

/** RFC 8292: `vapid t=<jwt>, k=<key>`; the JWT's ES256 signature, `aud`, `exp` (within 24 h) and `sub`. Returns the claims. */
export function verifyVapid(authorization: string | undefined, expectedKey: string, audience: string): Record<string, unknown> {
  const m = /^vapid t=([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+), k=([A-Za-z0-9_-]+)$/.exec(authorization ?? '');
  if (!m) throw new Error(`Authorization is not "vapid t=..., k=...": ${String(authorization).slice(0, 80)}`);
  const [, jwt, k] = m;
  if (k !== expectedKey) throw new Error('k is not the server’s VAPID public key');
  const [h, p, s] = jwt!.split('.') as [string, string, string];
  const header = JSON.parse(Buffer.from(h, 'base64url').toString()) as Record<string, unknown>;
  if (header.alg !== 'ES256') throw new Error(`alg ${String(header.alg)}`);
  const point = Buffer.from(k!, 'base64url');
  const key = createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: b64(point.subarray(1, 33)), y: b64(point.subarray(33, 65)) }, format: 'jwk' });
  const signature = Buffer.from(s, 'base64url');
  if (signature.length !== 64) throw new Error('ES256 signature must be 64 bytes (r || s)');
  if (!verify('sha256', Buffer.from(`${h}.${p}`), { key, dsaEncoding: 'ieee-p1363' }, signature)) throw new Error('bad JWT signature');
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
  if (claims.aud !== audience) throw new Error(`aud ${String(claims.aud)} is not ${audience}`);
  const now = Date.now() / 1000;
  if (typeof claims.exp !== 'number' || claims.exp <= now || claims.exp > now + 24 * 3600) throw new Error(`exp ${String(claims.exp)} not within 24 h`);
  if (typeof claims.sub !== 'string' || claims.sub === '') throw new Error('sub missing');
  return claims;
}

export class PushEndpoint {
  readonly received: ReceivedPush[] = [];
  /** Pushes that failed a check; a test asserts there are none. */
  readonly problems: string[] = [];
  /** The status each subscription answers with (201 unless told). */
  private readonly answers = new Map<string, number>();
  private readonly subscriptions = new Map<string, TestSubscription>();
  private waiters: Array<{ match: (p: ReceivedPush) => boolean; resolve: (p: ReceivedPush) => void }> = [];
  /** Every request, answered or not (a 410 too). */
  readonly requests: Array<{ subscriptionId: string; status: number }> = [];
  vapidKey = '';

  private constructor(
    private readonly server: http.Server,
    readonly origin: string,
  ) {}

  static async start(): Promise<PushEndpoint> {
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const endpoint = new PushEndpoint(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    server.on('request', (req, res) => endpoint.serve(req, res));
    return endpoint;
  }

  /** A new browser subscription, as `pushManager.subscribe` would make it. */
  subscribe(answer = 201): TestSubscription {
    const ecdh = createECDH('prime256v1');
    ecdh.generateKeys();
    const authSecret = randomBytes(16);
    const id = randomBytes(8).toString('hex');
    const s = { id, endpoint: `${this.origin}/push/${id}`, keys: { p256dh: b64(ecdh.getPublicKey()), auth: b64(authSecret) }, ecdh, authSecret };
    this.subscriptions.set(id, s);
    this.answers.set(id, answer);
    return s;
  }

  /** The JSON a browser posts (`PushSubscription.toJSON()`). */
  static json(s: TestSubscription): { endpoint: string; expirationTime: null; keys: { p256dh: string; auth: string } } {
    return { endpoint: s.endpoint, expirationTime: null, keys: s.keys };
  }

  of(s: TestSubscription): ReceivedPush[] {
    return this.received.filter((p) => p.subscriptionId === s.id);
  }

  waitFor(match: (p: ReceivedPush) => boolean, timeoutMs = 15_000): Promise<ReceivedPush> {
    const seen = this.received.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching push within ${timeoutMs} ms; problems: ${this.problems.join('; ')}`)), timeoutMs);
      this.waiters.push({ match, resolve: (p) => (clearTimeout(timer), resolve(p)) });
    });
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private serve(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const id = /^\/push\/([0-9a-f]+)$/.exec(req.url ?? '')?.[1] ?? '';
      const s = this.subscriptions.get(id);
      const status = this.answers.get(id) ?? 404;
      this.requests.push({ subscriptionId: id, status });
      if (!s || status >= 300) return void res.writeHead(status).end();
      try {
        if (req.method !== 'POST') throw new Error(`method ${req.method}`);
        if (req.headers['content-encoding'] !== 'aes128gcm') throw new Error(`Content-Encoding ${req.headers['content-encoding']}`);
        if (!/^\d+$/.test(String(req.headers.ttl))) throw new Error('TTL header missing');
        const claims = verifyVapid(req.headers.authorization, this.vapidKey, this.origin);
        const payload = JSON.parse(decryptAes128gcm(Buffer.concat(chunks), s.ecdh, s.authSecret).toString('utf8')) as Record<string, unknown>;
        const push = { subscriptionId: id, headers: req.headers, payload, claims };
        this.received.push(push);
        this.waiters = this.waiters.filter((w) => (w.match(push) ? (w.resolve(push), false) : true));
        res.writeHead(201).end();
      } catch (error) {
        this.problems.push(String(error));
        res.writeHead(400).end();
      }
    });
  }
}
