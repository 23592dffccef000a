import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** How the receiver answers a request: 2xx, 500, never, bytes that are not HTTP, or a redirect. */
export type Behaviour = 'ok' | 'fail' | 'hang' | 'garbage' | 'redirect';

export interface ReceivedWebhook {
  readonly id: string;
  readonly timestamp: number;
  readonly type: string;
  readonly data: Record<string, any>;
  readonly receivedAt: number;
}

/**
 * Verifies a Standard Webhooks signature with this file's own reading of the
 * specification (https://www.standardwebhooks.com/), independent of the
 * product's code: the key is the base64 after `whsec_`, the signed content
 * `id.timestamp.body`, the header a space-separated list of `v1,<base64>`,
 * and the timestamp within five minutes of now.
 */
export function verifyStandardWebhook(secret: string, headers: http.IncomingHttpHeaders, body: string): string | null {
  const id = headers['webhook-id'];
  const timestamp = headers['webhook-timestamp'];
  const signatures = headers['webhook-signature'];
  if (typeof id !== 'string' || typeof timestamp !== 'string' || typeof signatures !== 'string') return 'missing headers';
  if (!/^\d+$/.test(timestamp) || Math.abs(Date.now() / 1000 - Number(timestamp)) > 300) return 'timestamp out of tolerance';
  if (!secret.startsWith('whsec_')) return 'bad secret';
  const expected = createHmac('sha256', Buffer.from(secret.slice('whsec_'.length), 'base64'))
    .update(`${id}.${timestamp}.${body}`)
    .digest();
  const match = signatures.split(' ').some((entry) => {
    const [version, value] = entry.split(',');
    if (version !== 'v1' || value === undefined) return false;
    const given = Buffer.from(value, 'base64');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
  return match ? null : 'signature mismatch';
}

/** A local webhook endpoint for tests: verifies every request, answers as told, and records what it accepted. */
export class WebhookReceiver {
  readonly accepted: ReceivedWebhook[] = [];
  /** Requests refused for a bad signature, with why. */
  readonly rejected: string[] = [];
  /** Requests answered with anything but a 2xx (or not answered), by behaviour. */
  readonly refusedBy: Record<Behaviour, number> = { ok: 0, fail: 0, hang: 0, garbage: 0, redirect: 0 };
  /** Requests being held open right now (behaviour `hang`). */
  hanging = 0;
  /** What the next requests get, in order; then `mode`. */
  private readonly script: Behaviour[] = [];
  mode: Behaviour = 'ok';
  /** Chooses the behaviour by the webhook's body, before `mode` (null: no choice). */
  choose: ((webhook: { type: string; data: Record<string, any> }) => Behaviour | null) | null = null;
  private readonly sockets = new Set<Socket>();
  private readonly server: http.Server;
  url = '';

  constructor(readonly secret: string) {
    this.server = http.createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => this.answer(req, res, body));
    });
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
    return this;
  }

  /** The next requests get these behaviours, one each. */
  next(...behaviours: Behaviour[]): void {
    this.script.push(...behaviours);
  }

  /** Accepted webhooks with distinct ids, first arrival of each. */
  unique(): ReceivedWebhook[] {
    const seen = new Set<string>();
    return this.accepted.filter((w) => (seen.has(w.id) ? false : (seen.add(w.id), true)));
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private answer(req: http.IncomingMessage, res: http.ServerResponse, body: string): void {
    const problem = verifyStandardWebhook(this.secret, req.headers, body);
    if (problem) {
      this.rejected.push(problem);
      res.writeHead(401).end(problem);
      return;
    }
    const parsed = JSON.parse(body) as { type: string; data: Record<string, any>; timestamp: string };
    const behaviour = this.script.shift() ?? this.choose?.(parsed) ?? this.mode;
    if (behaviour !== 'ok') this.refusedBy[behaviour]++;
    switch (behaviour) {
      case 'fail':
        return void res.writeHead(500).end('receiver failing on purpose');
      case 'hang':
        this.hanging++;
        req.socket.on('close', () => this.hanging--);
        return;
      case 'garbage':
        return void req.socket.end('this is not HTTP\r\n\r\n');
      case 'redirect':
        return void res.writeHead(302, { location: 'http://127.0.0.1:1/elsewhere' }).end();
      case 'ok': {
        this.accepted.push({
          id: String(req.headers['webhook-id']),
          timestamp: Number(req.headers['webhook-timestamp']),
          type: parsed.type,
          data: parsed.data,
          receivedAt: Date.now(),
        });
        return void res.writeHead(204).end();
      }
    }
  }
}
