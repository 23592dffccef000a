import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import { actorOf, type Actor, type User } from '../../domain/user.js';
import type { UseCases } from '../../application/use-cases.js';
import { id as idSchema } from '../../application/schemas.js';
import type { Logger } from '../../application/ports/services.js';
import type { Telemetry } from '../../application/ports/telemetry.js';
import type { CorsPolicy } from './cors.js';
import { BodyTooLargeError, ClientGoneError, bearer, errorReply, replyPayload, safeDecode, type HttpReply, type HttpRequest } from './http.js';
import { clientAddress, type RequestLimits } from './rate-limits.js';
import type { Route, RouteContext } from './rest-routes.js';
import { SHUTTING_DOWN, fromThrown, fromZod, type WireError } from './wire-error.js';

export interface Readiness {
  readonly ready: boolean;
  readonly details: object;
}

/** A route outside the JSON API (health, documents, static files): it gets the raw request. */
export interface PlainRoute {
  readonly method: 'GET';
  readonly path: string;
  handle(request: HttpRequest): HttpReply | Promise<HttpReply>;
}

export interface HttpRouterOptions {
  readonly cors: CorsPolicy;
  readonly logger: Logger;
  /** Whether the database answers (and the fan-out listens), for /readyz. */
  readonly ready: () => Promise<Readiness>;
  /** Wraps every request so shutdown can wait for those in flight. */
  readonly track: <T>(work: Promise<T>) => Promise<T>;
  readonly plainRoutes?: readonly PlainRoute[];
  /** Per-IP and per-user request limits; null when RATE_LIMITS=off. */
  readonly limits: RequestLimits | null;
  /** Proxies in front of the server whose X-Forwarded-For is trusted (0: use the peer address). */
  readonly trustProxyHops: number;
  readonly telemetry: Telemetry;
  /** The level of the one access log line per request (`silent`: none). */
  readonly accessLogLevel: AccessLogLevel;
}

export type AccessLogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

/** An `X-Request-Id` a client or proxy sends is kept when it is this short and plain; otherwise one is made. */
const VALID_REQUEST_ID = /^[A-Za-z0-9._:+=/@-]{1,128}$/;

interface CompiledRoute {
  readonly route: Route;
  readonly segments: readonly string[];
}

class ReplyNow extends Error {
  constructor(readonly reply: HttpReply) {
    super('reply');
  }
}

const ANONYMOUS: Actor = { id: 0, username: '', isStaff: false };

/**
 * Every HTTP request that is not a WebSocket upgrade, for every transport:
 * routing, CORS, authentication, JSON bodies and the error shape. Nothing a
 * request carries can make it throw: a failure becomes an error reply, logged
 * once.
 */
export class HttpRouter {
  /** Set at shutdown: requests already running finish, new ones get 503. */
  draining = false;
  private readonly routes: CompiledRoute[];
  private readonly plain: ReadonlyMap<string, PlainRoute>;

  constructor(
    private readonly useCases: UseCases,
    routes: readonly Route[],
    private readonly options: HttpRouterOptions,
  ) {
    this.routes = routes.map((route) => ({ route, segments: route.pattern.split('/').slice(1) }));
    const plain: PlainRoute[] = [
      { method: 'GET', path: '/healthz', handle: () => ({ status: 200, body: { status: 'ok' } }) },
      { method: 'GET', path: '/readyz', handle: () => this.readiness() },
      ...(options.plainRoutes ?? []),
    ];
    this.plain = new Map(plain.map((r) => [r.path, r]));
  }

  /**
   * Never rejects. Every reply carries the request's id (`X-Request-Id`), and
   * every log line about the request carries it as `reqId`, the access log
   * line included.
   */
  handle(request: HttpRequest): Promise<HttpReply> {
    const started = process.hrtime.bigint();
    const given = request.header('x-request-id');
    const reqId = VALID_REQUEST_ID.test(given) ? given : randomUUID();
    let scoped: Logger | null = null;
    const log = () => (scoped ??= this.options.logger.child({ reqId }));
    const route = { name: 'unmatched' };
    return this.options
      .track(this.draining ? Promise.resolve(errorReply(SHUTTING_DOWN)) : this.serve(request, route))
      .catch((error: unknown) => {
        const where = { method: request.method.slice(0, 16), path: request.path.slice(0, 200) };
        if (error instanceof ClientGoneError) {
          log().info(where, 'client left before its request body arrived');
          return CLIENT_GONE;
        }
        log().error({ err: error, ...where }, 'request failed');
        return errorReply(fromThrown(error));
      })
      .then((reply) => {
        // Serialised here, once, so the access log can say how many bytes went out.
        const { contentType, data } = replyPayload(reply);
        const method = KNOWN_METHODS.has(request.method) ? request.method : 'OTHER';
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        this.options.telemetry.httpRequest(route.name, method, reply.status, seconds);
        const level = this.options.accessLogLevel;
        if (level !== 'silent') {
          const code = (reply.body as { error?: { code?: unknown } } | undefined)?.error?.code;
          log()[level](
            {
              method,
              route: route.name,
              status: reply.status,
              duration_ms: Math.round(seconds * 1e6) / 1e3,
              bytes: Buffer.byteLength(data),
              ...(typeof code === 'string' ? { code } : {}),
            },
            'request completed',
          );
        }
        return {
          status: reply.status,
          headers: [...(reply.headers ?? []), ['X-Request-Id', reqId]],
          ...(contentType === null ? {} : { raw: { contentType, data } }),
        };
      });
  }

  private async serve(request: HttpRequest, matched: { name: string }): Promise<HttpReply> {
    const origin = request.header('origin');
    const cors = this.options.cors;
    if (request.method === 'OPTIONS') {
      if (!cors.allows(origin)) return errorReply(ORIGIN_REFUSED);
      return { status: 204, headers: cors.preflightHeaders(origin) };
    }
    // A cross-site form or fetch needs no preflight for a simple POST: a browser would run it and only
    // hide the answer. State changes from an origin CORS does not allow are refused before any work.
    if (origin !== '' && STATE_CHANGING.has(request.method) && !cors.allows(origin, request.header('host'))) return errorReply(ORIGIN_REFUSED);
    const reply = await this.route(request, matched);
    const headers = cors.headers(origin);
    return headers.length === 0 ? reply : { ...reply, headers: [...headers, ...(reply.headers ?? [])] };
  }

  private async route(request: HttpRequest, matched: { name: string }): Promise<HttpReply> {
    const plain = this.plain.get(request.path);
    if (plain && (request.method === plain.method || (request.method === 'HEAD' && plain.method === 'GET'))) {
      matched.name = plain.path;
      return plain.handle(request);
    }
    const segments = request.path.split('/').slice(1);
    if (segments.at(-1) === '' && segments.length > 1) segments.pop(); // a trailing slash is the same route
    let pathMatched = plain !== undefined;
    for (const candidate of this.routes) {
      const params = match(candidate.segments, segments);
      if (!params) continue;
      pathMatched = true;
      if (candidate.route.method === request.method) {
        matched.name = candidate.route.pattern;
        return this.run(candidate.route, request, params);
      }
    }
    const error: WireError = pathMatched
      ? { code: 'METHOD_NOT_ALLOWED', message: `${request.method.slice(0, 16)} is not allowed here` }
      : { code: 'NOT_FOUND', message: `No route for ${request.path.slice(0, 200)}` };
    return errorReply(error);
  }

  private async run(route: Route, request: HttpRequest, params: Array<string | null>): Promise<HttpReply> {
    // Bodies are JSON only; any other type (a cross-site form's text/plain) is refused before any work.
    if (route.body && declaresBody(request) && !JSON_MEDIA_TYPE.test(request.header('content-type'))) return errorReply(NOT_JSON);
    try {
      const address = clientAddress(request.remoteAddress, request.header('x-forwarded-for'), this.options.trustProxyHops);
      const limits = this.options.limits;
      // Per-IP limits come before any work (a login's password hash is the costly part).
      if (limits && route.limit && limits.keyedBy(route.limit) === 'ip') {
        const refused = limited(limits.take(route.limit, address));
        if (refused) {
          this.options.telemetry.limited(route.limit);
          return refused;
        }
      }
      let actor = ANONYMOUS;
      let user: User | null = null;
      let sessionId: string | null = null;
      if (route.auth) {
        const found = await this.useCases.authenticate.execute(bearer(request.header('authorization')));
        if (!found.ok) return errorReply(found.error, [['WWW-Authenticate', 'Bearer']]);
        ({ user, sessionId } = found.value);
        actor = actorOf(user);
        if (route.staff && !actor.isStaff) return errorReply({ code: 'NOT_FOUND', message: `No route for ${request.path.slice(0, 200)}` });
      }
      if (limits && route.limit && limits.keyedBy(route.limit) === 'user') {
        const refused = limited(limits.take(route.limit, String(actor.id)));
        if (refused) {
          this.options.telemetry.limited(route.limit);
          return refused;
        }
      }
      const body = route.body ? parseOrThrow(route.body, await jsonBody(request)) : undefined;
      const query = route.query ? parseOrThrow(route.query, Object.fromEntries(new URLSearchParams(request.query))) : undefined;
      return await route.handle(context(route, actor, user, sessionId, request, params, address), { body, query });
    } catch (error) {
      if (error instanceof ReplyNow) return error.reply;
      if (error instanceof BodyTooLargeError) return errorReply({ code: 'PAYLOAD_TOO_LARGE', message: 'The request body is too large' });
      throw error;
    }
  }

  private async readiness(): Promise<HttpReply> {
    const { ready, details } = await this.options.ready();
    return ready
      ? { status: 200, body: { status: 'ready', ...details } }
      : {
          status: 503,
          body: {
            status: 'unavailable',
            ...details,
            error: { code: 'SERVICE_UNAVAILABLE', message: 'The database is down or refusing writes, or the fan-out connection is down' },
          },
        };
  }
}

function match(pattern: readonly string[], segments: readonly string[]): Array<string | null> | null {
  if (pattern.length !== segments.length) return null;
  const params: Array<string | null> = [];
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    if (p.startsWith(':')) params.push(safeDecode(segments[i]!));
    else if (p !== segments[i]) return null;
  }
  return params;
}

/** Nobody is left to read it: counted as 499 (client closed request), as proxies log it, not as a server error. */
const CLIENT_GONE: HttpReply = { status: 499 };

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const ORIGIN_REFUSED: WireError = { code: 'ORIGIN_NOT_ALLOWED', message: 'This origin is not allowed' };

/** `application/json`, with or without parameters (`; charset=utf-8`). */
const JSON_MEDIA_TYPE = /^application\/json\s*(;|$)/i;
const NOT_JSON: WireError = { code: 'UNSUPPORTED_MEDIA_TYPE', message: 'Request bodies must be JSON, sent as Content-Type: application/json' };

/** From the headers alone: a body is on its way (a `Content-Length: 0` is none). */
const declaresBody = (request: HttpRequest): boolean => {
  const length = request.header('content-length');
  return (length !== '' && length !== '0') || request.header('transfer-encoding') !== '';
};

const KNOWN_METHODS = new Set(['GET', 'POST', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD', 'PUT']);

const limited = (retryAfter: number | null): HttpReply | null =>
  retryAfter === null ? null : errorReply({ code: 'RATE_LIMITED', message: 'Too many requests; slow down', details: { retry_after_seconds: retryAfter } });

function context(
  route: Route,
  actor: Actor,
  user: User | null,
  sessionId: string | null,
  request: HttpRequest,
  params: Array<string | null>,
  address: string,
): RouteContext {
  const param = <T>(index: number): T => {
    const parsed = (route.params?.[index] ?? idSchema).safeParse(params[index]);
    if (!parsed.success)
      throw new ReplyNow(errorReply({ code: 'VALIDATION_FAILED', message: `The path parameter is not valid: ${parsed.error.issues[0]?.message ?? ''}` }));
    return parsed.data as T;
  };
  return { actor, user, sessionId, request, clientAddress: address, param: (index) => param<number>(index), paramAs: param };
}

/** The body as a JSON object (an empty body is `{}`). */
async function jsonBody(request: HttpRequest): Promise<object> {
  const raw = await request.body();
  let value: unknown;
  try {
    value = raw.length === 0 ? {} : JSON.parse(raw.toString('utf8'));
  } catch {
    throw new ReplyNow(errorReply({ code: 'INVALID_JSON', message: 'The request body is not valid JSON' }));
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ReplyNow(errorReply({ code: 'VALIDATION_FAILED', message: 'The request body must be a JSON object' }));
  }
  return value;
}

function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new ReplyNow(errorReply(fromZod(parsed.error)));
  return parsed.data;
}
