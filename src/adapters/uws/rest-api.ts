import type { z } from 'zod';
import type { Result } from '../../domain/result.js';
import { actorOf, type Actor, type User } from '../../domain/user.js';
import type { UseCases } from '../../application/use-cases.js';
import {
  addParticipantSchema,
  createConversationSchema,
  id as idSchema,
  logInSchema,
  markReadSchema,
  pageQuerySchema,
  registerSchema,
  sendMessageSchema,
} from '../../application/schemas.js';
import { conversationSummaryView, conversationView, messageView, userView } from '../../application/views.js';
import type { Logger } from '../../application/ports/services.js';
import { fromThrown, fromZod, type WireError } from '../protocol/wire-error.js';
import type { CorsPolicy } from './cors.js';
import { BodyTooLargeError, errorReply, openExchange, type HttpExchange, type HttpReply } from './http-exchange.js';
import type { TemplatedApp } from './uws.js';

type Method = 'get' | 'post' | 'patch' | 'del';

interface Route {
  readonly method: Method;
  readonly pattern: string;
  /** Routes without auth get an anonymous actor (id 0). */
  readonly auth: boolean;
  readonly handle: (ctx: RouteContext) => Promise<HttpReply>;
}

interface RouteContext {
  readonly actor: Actor;
  /** The authenticated user, on routes with auth. */
  readonly user: User | null;
  readonly exchange: HttpExchange;
  /** Parses the JSON body with a schema; a failure is thrown as a reply. */
  json<S extends z.ZodType>(schema: S): Promise<z.infer<S>>;
  param(index: number): number;
}

class ReplyNow extends Error {
  constructor(readonly reply: HttpReply) {
    super('reply');
  }
}

const reply = <T>(result: Result<T>, status: number, view: (value: T) => unknown): HttpReply =>
  result.ok ? { status, body: view(result.value) } : errorReply(result.error);

export interface Readiness {
  readonly ready: boolean;
  readonly details: object;
}

export interface RestApiOptions {
  readonly maxBodyBytes: number;
  readonly cors: CorsPolicy;
  readonly logger: Logger;
  /** Whether the database answers (and the fan-out listens), for /readyz. */
  readonly ready: () => Promise<Readiness>;
  /** Wraps every request so shutdown can wait for those in flight. */
  readonly track: <T>(work: Promise<T>) => Promise<T>;
}

/** The REST API: JSON over HTTP on the same uWS app as the WebSocket endpoint. */
export function mountRestApi(app: TemplatedApp, u: UseCases, options: RestApiOptions): void {
  const routes: Route[] = [
    { method: 'post', pattern: '/auth/register', auth: false, handle: async (c) => reply(await u.registerUser.execute(await c.json(registerSchema)), 201, (r) => ({ user: userView(r.user), token: r.token.token, expires_at: r.token.expiresAt.toISOString() })) },
    { method: 'post', pattern: '/auth/login', auth: false, handle: async (c) => reply(await u.logIn.execute(await c.json(logInSchema)), 200, (r) => ({ user: userView(r.user), token: r.token.token, expires_at: r.token.expiresAt.toISOString() })) },
    { method: 'del', pattern: '/users/me', auth: true, handle: async (c) => (await u.deleteAccount.execute(c.actor), { status: 204 }) },
    {
      method: 'post', pattern: '/conversations', auth: true,
      handle: async (c) => {
        const r = await u.createConversation.execute(c.actor, await c.json(createConversationSchema));
        return reply(r, r.ok && !r.value.created ? 200 : 201, (v) => conversationView(v.conversation, v.participants));
      },
    },
    { method: 'get', pattern: '/conversations', auth: true, handle: async (c) => ({ status: 200, body: { conversations: (await u.listConversations.execute(c.actor)).map(conversationSummaryView) } }) },
    { method: 'get', pattern: '/conversations/:id', auth: true, handle: async (c) => reply(await u.getConversation.execute(c.actor, c.param(0)), 200, (v) => conversationView(v.conversation, v.participants)) },
    {
      method: 'post', pattern: '/conversations/:id/participants', auth: true,
      handle: async (c) => {
        const { user_id } = await c.json(addParticipantSchema);
        const added = await u.addParticipant.execute(c.actor, c.param(0), user_id);
        if (!added.ok) return errorReply(added.error);
        return reply(await u.getConversation.execute(c.actor, c.param(0)), 200, (v) => conversationView(v.conversation, v.participants));
      },
    },
    { method: 'del', pattern: '/conversations/:id/participants/:userId', auth: true, handle: async (c) => reply(await u.removeParticipant.execute(c.actor, c.param(0), c.param(1)), 200, (v) => v) },
    {
      method: 'get', pattern: '/conversations/:id/messages', auth: true,
      handle: async (c) => {
        const query = pageQuerySchema.safeParse(Object.fromEntries(c.exchange.query));
        if (!query.success) return errorReply(fromZod(query.error));
        return reply(await u.getMessages.execute(c.actor, c.param(0), query.data), 200, (p) => ({ messages: p.messages.map(messageView), has_more: p.hasMore }));
      },
    },
    {
      method: 'post', pattern: '/conversations/:id/messages', auth: true,
      handle: async (c) => {
        const input = await c.json(sendMessageSchema.omit({ conversation_id: true }));
        const r = await u.sendMessage.execute(c.actor, { ...input, conversation_id: c.param(0) });
        return reply(r, r.ok && !r.value.created ? 200 : 201, (v) => messageView(v.message));
      },
    },
    {
      method: 'post', pattern: '/conversations/:id/read', auth: true,
      handle: async (c) => {
        const input = await c.json(markReadSchema.omit({ conversation_id: true }));
        return reply(await u.markRead.execute(c.actor, { ...input, conversation_id: c.param(0) }), 200, (v) => v);
      },
    },
    {
      method: 'patch', pattern: '/messages/:id', auth: true,
      handle: async (c) => {
        const { content } = await c.json(sendMessageSchema.pick({ content: true }).required());
        return reply(await u.editMessage.execute(c.actor, { message_id: c.param(0), content }), 200, messageView);
      },
    },
    { method: 'del', pattern: '/messages/:id', auth: true, handle: async (c) => reply(await u.deleteMessage.execute(c.actor, c.param(0)), 200, (v) => v) },
  ];
  routes.push({ method: 'get', pattern: '/users/me', auth: true, handle: async (c) => ({ status: 200, body: userView(c.user!) }) });

  const { cors, logger } = options;
  for (const route of routes) {
    const paramCount = (route.pattern.match(/:/g) ?? []).length;
    app[route.method](route.pattern, (res, req) => {
      // Nothing thrown in a uWS callback may escape: it would end the process.
      try {
        const { exchange, reply: send } = openExchange(res, req, paramCount, options.maxBodyBytes);
        const headers = cors.headers(exchange.origin);
        void options.track(
          serve(route, exchange, u, logger).then((r) => send({ ...r, headers: [...headers, ...(r.headers ?? [])] })),
        );
      } catch (error) {
        logger.error({ err: error }, 'request failed before its handler ran');
        res.cork(() => res.writeStatus('500 Internal Server Error').writeHeader('Content-Type', 'application/json; charset=utf-8').end(JSON.stringify({ error: fromThrown(error) })));
      }
    });
  }

  app.get('/healthz', (res) => {
    res.writeHeader('Content-Type', 'application/json').end('{"status":"ok"}');
  });
  app.get('/readyz', (res, req) => {
    const { reply: send } = openExchange(res, req, 0, 0);
    void options.ready().then(({ ready, details }) =>
      send(
        ready
          ? { status: 200, body: { status: 'ready', ...details } }
          : { status: 503, body: { status: 'unavailable', ...details, error: { code: 'SERVICE_UNAVAILABLE', message: 'The database or the fan-out connection is down' } } },
      ),
    );
  });
  app.options('/*', (res, req) => {
    const origin = req.getHeader('origin');
    if (!cors.allows(origin)) {
      res.writeStatus('403 Forbidden').writeHeader('Content-Type', 'application/json').end(JSON.stringify({ error: { code: 'ORIGIN_NOT_ALLOWED', message: 'This origin is not allowed' } }));
      return;
    }
    res.writeStatus('204 No Content');
    for (const [k, v] of cors.preflightHeaders(origin)) res.writeHeader(k, v);
    res.end();
  });
  app.any('/*', (res, req) => {
    const known = routes.some((r) => matches(r.pattern, req.getUrl()));
    const error: WireError = known
      ? { code: 'METHOD_NOT_ALLOWED', message: `${req.getMethod().toUpperCase()} is not allowed here` }
      : { code: 'NOT_FOUND', message: `No route for ${req.getUrl().slice(0, 200)}` };
    const { reply: send } = openExchange(res, req, 0, 0);
    send({ ...errorReply(error), headers: cors.headers(req.getHeader('origin')) });
  });
}

async function serve(route: Route, exchange: HttpExchange, u: UseCases, logger: Logger): Promise<HttpReply> {
  try {
    let actor: Actor = { id: 0, username: '', isStaff: false };
    let user: User | null = null;
    if (route.auth) {
      const found = await u.authenticate.execute(bearer(exchange.authorization));
      if (!found.ok) return errorReply(found.error, [['WWW-Authenticate', 'Bearer']]);
      user = found.value;
      actor = actorOf(user);
    }
    return await route.handle({
      actor,
      user,
      exchange,
      json: async (schema) => {
        const raw = await exchange.body;
        let value: unknown;
        try {
          value = raw.length === 0 ? {} : JSON.parse(raw.toString('utf8'));
        } catch {
          throw new ReplyNow(errorReply({ code: 'INVALID_JSON', message: 'The request body is not valid JSON' }));
        }
        if (value === null || typeof value !== 'object' || Array.isArray(value)) {
          throw new ReplyNow(errorReply({ code: 'VALIDATION_FAILED', message: 'The request body must be a JSON object' }));
        }
        const parsed = schema.safeParse(value);
        if (!parsed.success) throw new ReplyNow(errorReply(fromZod(parsed.error)));
        return parsed.data;
      },
      param: (index) => {
        const parsed = idSchema.safeParse(exchange.params[index]);
        if (!parsed.success) throw new ReplyNow(errorReply({ code: 'VALIDATION_FAILED', message: 'The id in the path must be a positive integer' }));
        return parsed.data;
      },
    });
  } catch (error) {
    if (error instanceof ReplyNow) return error.reply;
    if (error instanceof BodyTooLargeError) return errorReply({ code: 'PAYLOAD_TOO_LARGE', message: 'The request body is too large' });
    logger.error({ err: error, method: exchange.method, url: exchange.url }, 'request failed');
    return errorReply(fromThrown(error));
  }
}

export const bearer = (header: string): string | null => {
  const match = /^Bearer\s+(\S+)$/i.exec(header.trim());
  return match ? match[1]! : null;
};

const matches = (pattern: string, url: string): boolean =>
  new RegExp(`^${pattern.replace(/:[^/]+/g, '[^/]+')}/?$`).test(url);
