import { preview } from './json.js';
import { showBytes } from './findings.js';
import { RawHttpConnection, type RawOutcome } from './raw-http.js';
import { renderRequest, RestRequestGenerator, showRequest, STANDARD_METHODS, transportTrait, type RestRequest } from './rest-requests.js';
import type { ChannelContext } from './ws-channel.js';

export interface RestStats {
  requests: number;
  byStatus: Record<string, number>;
  unanswered: number;
  /** Requests uWebSockets.js's HTTP parser dropped unanswered (unknown methods, too many header lines). */
  refusedByParser: number;
  malformed: { answered: number; closed: number; noReaction: number };
  upgrades: number;
  /** Requests sent again because a kept-alive connection was closed under them. */
  retried: number;
}

const WORKERS = 8;

/** Enough to see a server's immediate reaction to broken framing; waiting for more bytes is no fault. */
const MALFORMED_TIMEOUT_MS = 1_500;

/** Whether a reply body has the documented error shape `{"error": {"code", "message"}}`. */
export function hasErrorShape(body: Buffer): boolean {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { error?: { code?: unknown; message?: unknown } };
    return typeof parsed?.error?.code === 'string' && typeof parsed.error.message === 'string';
  } catch {
    return false;
  }
}

const errorCodeOf = (body: Buffer): string => {
  try {
    return String((JSON.parse(body.toString('utf8')) as { error?: { code?: unknown } }).error?.code ?? '-');
  } catch {
    return '-';
  }
};

/**
 * Checks one REST answer: a status (unless the request broke HTTP's grammar),
 * never 5xx, the documented error shape on API routes, and nothing more than
 * one response per request.
 */
export function checkRestOutcome(
  ctx: ChannelContext,
  stats: RestStats,
  req: RestRequest,
  bytes: Buffer,
  outcome: RawOutcome,
  channel: 'rest' | 'socketio' = 'rest',
): void {
  const f = ctx.findings;
  const input = showRequest(req, bytes);
  const raw = bytes.length <= 2 * 1024 * 1024 ? bytes.toString('base64') : undefined;
  if (!outcome.ok) {
    if (req.malformed) {
      if (outcome.reason === 'timeout') stats.malformed.noReaction += 1;
      else stats.malformed.closed += 1;
      return;
    }
    const trait = transportTrait(req);
    if (trait && ctx.target.transport === 'uws' && outcome.partial.length === 0) {
      // uWebSockets.js parses HTTP natively and drops such requests before any handler can answer
      // (docs/SECURITY.md, "Transport limits"); the Node transport answers them.
      stats.refusedByParser += 1;
      f.add(channel, 'parser-refusal', trait, `any route, with ${trait}: dropped by uWebSockets.js's HTTP parser without a response`, {
        input,
        raw,
        response: `(${outcome.reason})`,
        tags: req.tags,
      });
      return;
    }
    stats.unanswered += 1;
    const what = transportTrait(req) ? `any route, with ${transportTrait(req)}` : req.route;
    f.add(
      channel,
      'unanswered',
      `${what}|${outcome.reason}`,
      `${what}: ${outcome.reason === 'timeout' ? `no response within the timeout` : outcome.reason === 'closed' ? 'the connection closed without a response' : `no HTTP response (${outcome.reason})`}`,
      {
        input,
        raw,
        response: outcome.partial.length ? showBytes(outcome.partial) : `(${outcome.reason}${outcome.detail ? `: ${outcome.detail}` : ''})`,
        tags: req.tags,
        replay: { kind: 'http', request: req },
      },
    );
    return;
  }
  const { status, body } = outcome.response;
  stats.byStatus[status] = (stats.byStatus[status] ?? 0) + 1;
  if (req.malformed) stats.malformed.answered += 1;
  const response = `HTTP ${status} ${preview(body.toString('utf8'), 400)}`;
  if (status >= 500) {
    f.add(channel, 'server-error', `${req.route}|${status}|${errorCodeOf(body)}`, `${req.route}: answered ${status} ${errorCodeOf(body)}`, {
      input,
      raw,
      response,
      tags: req.tags,
      replay: { kind: 'http', request: req },
    });
  }
  // Node's HTTP parser answers methods it does not know with a bare 400 before any route runs: not the API's.
  const apiRoute = !req.malformed && !req.upgrade && channel === 'rest' && STANDARD_METHODS.has(req.method) && req.method !== 'HEAD';
  if (apiRoute && status >= 400 && !hasErrorShape(body)) {
    // An empty body means the HTTP parser refused the request before any route saw it (e.g. headers over its limit).
    const bare = body.length === 0;
    f.add(
      channel,
      'error-shape',
      bare ? `bare|${status}` : `${req.route}|${status}`,
      bare
        ? `a bare ${status} with no body: refused before the API saw the request`
        : `${req.route}: a ${status} whose body is not {"error": {"code", "message"}}`,
      { input, raw, response, tags: req.tags },
    );
  }
}

/** Counters before the first request (REST requests, and Socket.IO's raw handshakes). */
export const emptyRestStats = (): RestStats => ({
  requests: 0,
  byStatus: {},
  unanswered: 0,
  refusedByParser: 0,
  malformed: { answered: 0, closed: 0, noReaction: 0 },
  upgrades: 0,
  retried: 0,
});

/** Runs `count` requests over several keep-alive connections. */
export async function fuzzRest(ctx: ChannelContext, count: number): Promise<RestStats> {
  const stats = emptyRestStats();
  const { target, world } = ctx;
  const host = `${target.host}:${target.port}`;
  const users = [world.alice, world.bob, world.carol, world.mallory];
  await Promise.all(
    Array.from({ length: WORKERS }, async (_, i) => {
      const share = Math.floor(count / WORKERS) + (i < count % WORKERS ? 1 : 0);
      const disposable = world.disposable.filter((_, k) => k % WORKERS === i);
      const gen = new RestRequestGenerator(
        ctx.prng.fork(`rest/${i}`),
        world,
        users[i % users.length]!,
        { host: target.host, port: target.port, maxBodyBytes: target.maxBodyBytes, allowedOrigin: target.allowedOrigin, disposable },
        `${ctx.prng.seed}r${i}`,
      );
      const keepAlive = new RawHttpConnection(target.host, target.port);
      let previous: { req: RestRequest; bytes: Buffer } | null = null;
      try {
        for (let k = 0; k < share; k++) {
          if (!target.alive()) return;
          const req = gen.next();
          const own = req.malformed || req.upgrade;
          const conn = own ? new RawHttpConnection(target.host, target.port) : keepAlive;
          const bytes = renderRequest(req, host, !own);
          const options = { head: req.method === 'HEAD', timeoutMs: req.malformed ? MALFORMED_TIMEOUT_MS : ctx.answerTimeoutMs };
          let outcome = await conn.request(bytes, options);
          if (!outcome.ok && outcome.reason === 'closed' && outcome.partial.length === 0 && outcome.reused && (outcome.ms ?? 0) < 1_000) {
            // The server closed the kept-alive connection as the request went out (it may, after any
            // response): as HTTP clients do, send it again once on a fresh connection.
            stats.retried += 1;
            outcome = await conn.request(bytes, options);
          }
          stats.requests += 1;
          if (req.upgrade) stats.upgrades += 1;
          checkRestOutcome(ctx, stats, req, bytes, outcome);
          const stray = conn.takeStray();
          if (stray.length > 0 && !req.malformed && !req.upgrade) {
            ctx.findings.add('rest', 'duplicate-answer', req.route, `${req.route}: more bytes after the response (a second response?)`, {
              input: showRequest(req, bytes),
              response: showBytes(stray),
              tags: req.tags,
            });
          }
          if (own) conn.destroy();
          previous = { req, bytes };
        }
        // Anything that arrived on the kept-alive connection after its last response.
        await new Promise((r) => setTimeout(r, 50));
        const late = keepAlive.takeStray();
        if (late.length > 0 && previous) {
          ctx.findings.add('rest', 'duplicate-answer', previous.req.route, `${previous.req.route}: more bytes after the response (a second response?)`, {
            input: showRequest(previous.req, previous.bytes),
            response: showBytes(late),
            tags: previous.req.tags,
          });
        }
      } finally {
        keepAlive.destroy();
      }
    }),
  );
  return stats;
}
