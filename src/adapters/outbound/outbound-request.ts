import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { isIP } from 'node:net';
import { isForbiddenAddress } from './forbidden-addresses.js';
import { checkOutboundUrl } from './outbound-url.js';

export interface OutboundRequestOptions {
  /** @default 'POST' */
  readonly method?: string;
  /** @default {} */
  readonly headers?: Readonly<Record<string, string>>;
  /** Sent with its content-length. @default none */
  readonly body?: string | Buffer;
  /** Until the connection (and TLS) is up; also bounded by `timeoutMs`. @default 5000 */
  readonly connectTimeoutMs?: number;
  /** One deadline for everything: connect, request, headers and the body read. @default 10000 */
  readonly timeoutMs?: number;
  /** The body is read up to this many bytes, then the connection is closed. @default 65536 */
  readonly maxResponseBytes?: number;
  /** Allow `http:` and private, loopback and other non-public targets (development and tests). @default false */
  readonly allowPrivate?: boolean;
}

export interface OutboundResponse {
  readonly ok: true;
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  /** The first `maxResponseBytes` bytes, as UTF-8 text. */
  readonly body: string;
  /** Whether the body was longer and cut. */
  readonly truncated: boolean;
}

/**
 * Why no response came: `refused-url` (scheme, credentials or syntax),
 * `refused-address` (the host is or resolves to a non-public address),
 * `timeout` (the deadline passed), `connect-failed` (no connection: refused,
 * unknown host, TLS), `redirect` (a 3xx, never followed), `failed` (the
 * connection broke after it was made).
 */
export type OutboundFailureKind = 'refused-url' | 'refused-address' | 'timeout' | 'connect-failed' | 'redirect' | 'failed';

export interface OutboundFailure {
  readonly ok: false;
  readonly failure: OutboundFailureKind;
  readonly message: string;
  /** The status of a redirect. */
  readonly status?: number;
}

export type OutboundResult = OutboundResponse | OutboundFailure;

const REFUSED = 'ERR_OUTBOUND_REFUSED_ADDRESS';

/**
 * A `lookup` for the connection itself: resolves the name, refuses it if any
 * address it resolves to is non-public, and hands the checked addresses to
 * the socket, so a name that changes its answer after validation (DNS
 * rebinding) still cannot reach a private address.
 */
export const guardedLookup =
  (allowPrivate: boolean): LookupFunction =>
  (hostname, options, callback) => {
    dns.lookup(hostname, { all: true, family: options.family ?? 0, hints: options.hints ?? 0 }, (error, addresses) => {
      if (error) return callback(error, '', 0);
      const bad = allowPrivate ? undefined : addresses.find((a) => isForbiddenAddress(a.address));
      if (bad !== undefined || addresses.length === 0) {
        const refused: NodeJS.ErrnoException = new Error(`${hostname} resolves to a non-public address (${bad?.address ?? 'none'})`);
        refused.code = REFUSED;
        return callback(refused, '', 0);
      }
      if (options.all) return (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, addresses);
      const first = addresses[0]!;
      callback(null, first.address, first.family);
    });
  };

/**
 * Connections are kept and reused per origin (a webhook endpoint or a push
 * service sees one connection, not one per event). Each was checked by
 * `guardedLookup` when it was made; a pool per `allowPrivate` setting, so a
 * connection made under the looser rule never serves the stricter one. Idle
 * connections close after `IDLE_MS`, below the 5 s most servers keep them.
 */
const IDLE_MS = 4_000;
const pools = new Map<string, http.Agent>();
function poolFor(protocol: string, allowPrivate: boolean): http.Agent {
  const key = `${protocol}${allowPrivate}`;
  let agent = pools.get(key);
  if (agent === undefined) {
    const options = { keepAlive: true, timeout: IDLE_MS, lookup: guardedLookup(allowPrivate) };
    agent = protocol === 'https:' ? new https.Agent(options) : new http.Agent(options);
    pools.set(key, agent);
  }
  return agent;
}

const fail = (failure: OutboundFailureKind, message: string, status?: number): OutboundFailure =>
  status === undefined ? { ok: false, failure, message } : { ok: false, failure, message, status };

/**
 * One HTTP request to a URL from outside (a webhook endpoint, a push
 * service), guarded against reaching the server's own network. Never throws
 * for network trouble: every outcome is a value. Redirects are not followed.
 */
export async function outboundRequest(input: string | URL, options: OutboundRequestOptions = {}): Promise<OutboundResult> {
  const allowPrivate = options.allowPrivate ?? false;
  const checked = checkOutboundUrl(String(input), allowPrivate);
  if (!checked.ok) {
    const literal = checked.reason.startsWith('must not point');
    return fail(literal ? 'refused-address' : 'refused-url', `URL ${checked.reason}`);
  }
  const first = await send(checked.url, options, allowPrivate);
  // A kept connection the other side had just closed when it was reused (the usual race of
  // keep-alive): sent once more, on a new connection. Receivers already see each event at
  // least once and deduplicate by its id.
  const result = first === STALE_CONNECTION ? await send(checked.url, options, allowPrivate, true) : first;
  return result === STALE_CONNECTION ? fail('failed', 'the connection was reset') : result;
}

const STALE_CONNECTION = Symbol('stale connection');

function send(url: URL, options: OutboundRequestOptions, allowPrivate: boolean, fresh = false): Promise<OutboundResult | typeof STALE_CONNECTION> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const connectTimeoutMs = Math.min(options.connectTimeoutMs ?? 5_000, timeoutMs);
  const maxBytes = options.maxResponseBytes ?? 65_536;
  const body = options.body === undefined ? undefined : Buffer.isBuffer(options.body) ? options.body : Buffer.from(options.body);
  const headers: Record<string, string> = { ...options.headers };
  if (body !== undefined) headers['content-length'] = String(body.length);

  return new Promise((resolve) => {
    let settled = false;
    const timers: NodeJS.Timeout[] = [];
    /** `keep`: the response was read to its end, so the connection goes back to the pool. */
    const finish = (result: OutboundResult | typeof STALE_CONNECTION, keep = false) => {
      if (settled) return;
      settled = true;
      for (const t of timers) clearTimeout(t);
      if (!keep) request.destroy();
      resolve(result);
    };
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    const literal = isIP(host) !== 0;
    const request = (url.protocol === 'https:' ? https : http).request(url, {
      method: options.method ?? 'POST',
      headers,
      // A literal address never reaches lookup; checkOutboundUrl has checked it above.
      agent: fresh ? false : poolFor(url.protocol, allowPrivate),
      lookup: literal ? undefined : guardedLookup(allowPrivate),
    });
    let connected = false;
    timers.push(setTimeout(() => finish(fail('timeout', `no complete response within ${timeoutMs} ms`)), timeoutMs));
    timers.push(
      setTimeout(() => {
        if (!connected) finish(fail('timeout', `no connection within ${connectTimeoutMs} ms`));
      }, connectTimeoutMs),
    );
    request.on('socket', (socket) => {
      if (request.reusedSocket) connected = true;
      else
        socket.once(url.protocol === 'https:' ? 'secureConnect' : 'connect', () => {
          connected = true;
        });
    });
    request.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === REFUSED) finish(fail('refused-address', error.message));
      else if (request.reusedSocket && !fresh && (error.code === 'ECONNRESET' || error.code === 'EPIPE')) finish(STALE_CONNECTION);
      else finish(fail(connected ? 'failed' : 'connect-failed', error.code ? `${error.code}: ${error.message}` : error.message));
    });
    request.on('response', (response) => {
      const status = response.statusCode ?? 0;
      if (status >= 300 && status < 400) {
        finish(fail('redirect', `redirect ${status} to ${String(response.headers.location ?? '(no location)').slice(0, 200)} not followed`, status));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      const done = (truncated: boolean) =>
        finish({ ok: true, status, headers: response.headers, body: Buffer.concat(chunks).subarray(0, maxBytes).toString('utf8'), truncated }, !truncated);
      response.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        size += chunk.length;
        if (size > maxBytes) done(true);
      });
      response.on('end', () => done(false));
      response.on('error', (error) => finish(fail('failed', error.message)));
      response.on('close', () => finish(fail('failed', 'the response was cut off')));
    });
    request.end(body);
  });
}
