import type { z } from 'zod';
import type { Result } from '../../domain/result.js';
import type { Actor, User } from '../../domain/user.js';
import type { UseCases } from '../../application/use-cases.js';
import type { Session } from '../../domain/session.js';
import { deviceOf, type SignedIn } from '../../application/sessions.js';
import {
  addParticipantSchema,
  changePasswordSchema,
  refreshSchema,
  sessionIdSchema,
  createConversationSchema,
  listQuerySchema,
  logInSchema,
  markReadSchema,
  pageQuerySchema,
  registerSchema,
  sendMessageSchema,
} from '../../application/schemas.js';
import { conversationSummaryView, conversationView, messageView, participantView, userView } from '../../application/views.js';
import { errorReply, type HttpReply, type HttpRequest } from './http.js';
import type { RequestLimit } from './rate-limits.js';

export type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

export interface RouteContext {
  readonly actor: Actor;
  /** The authenticated user, on routes with auth. */
  readonly user: User | null;
  /** The session of the caller's token (null without auth, or for an external identity provider's token). */
  readonly sessionId: string | null;
  readonly request: HttpRequest;
  /** Parses the JSON body with a schema; a failure is thrown as a reply. */
  json<S extends z.ZodType>(schema: S): Promise<z.infer<S>>;
  /** Parses the query string with a schema; a failure is thrown as a reply. */
  query<S extends z.ZodType>(schema: S): z.infer<S>;
  /** The path parameter at `index` as an id; anything else is thrown as a 400 reply. */
  param(index: number): number;
  /** The path parameter at `index` checked with a schema; anything else is thrown as a 400 reply. */
  paramAs<S extends z.ZodType>(index: number, schema: S): z.infer<S>;
  /** The client's address (behind trusted proxies, the one they saw). */
  readonly clientAddress: string;
}

export interface Route {
  readonly method: Method;
  /** Segments; `:name` captures one. */
  readonly pattern: string;
  /** Routes without auth get an anonymous actor (id 0). */
  readonly auth: boolean;
  /** A request limit charged before the handler runs (per IP, or per user after auth). */
  readonly limit?: RequestLimit;
  readonly handle: (ctx: RouteContext) => Promise<HttpReply>;
}

const reply = <T>(result: Result<T>, status: number, view: (value: T) => unknown): HttpReply =>
  result.ok ? { status, body: view(result.value) } : errorReply(result.error);

const signedIn = (r: SignedIn) => ({
  user: userView(r.user),
  token: r.token.token,
  expires_at: r.token.expiresAt.toISOString(),
  refresh_token: r.refreshToken,
  refresh_expires_at: r.refreshExpiresAt.toISOString(),
});

const sessionView = (current: string | null) => (s: Session) => ({
  id: s.id,
  device: s.deviceLabel,
  ip: s.ip,
  created_at: s.createdAt.toISOString(),
  last_used_at: s.lastUsedAt.toISOString(),
  expires_at: s.expiresAt.toISOString(),
  current: s.id === current,
});

const deviceOfRequest = (c: RouteContext) => deviceOf(c.request.header('user-agent'), c.clientAddress);

/** The REST API (docs/API.md): what each endpoint does, whatever serves it. */
export function restRoutes(u: UseCases): Route[] {
  return [
    { method: 'POST', pattern: '/auth/register', auth: false, limit: 'register', handle: async (c) => reply(await u.registerUser.execute(await c.json(registerSchema), deviceOfRequest(c)), 201, signedIn) },
    { method: 'POST', pattern: '/auth/login', auth: false, limit: 'login', handle: async (c) => reply(await u.logIn.execute(await c.json(logInSchema), deviceOfRequest(c)), 200, signedIn) },
    {
      method: 'POST', pattern: '/auth/refresh', auth: false, limit: 'login',
      handle: async (c) => reply(await u.refreshSession.execute((await c.json(refreshSchema)).refresh_token, deviceOfRequest(c)), 200, signedIn),
    },
    { method: 'POST', pattern: '/auth/logout', auth: true, handle: async (c) => reply(await u.logOut.execute(c.actor, c.sessionId), 200, (v) => v) },
    { method: 'GET', pattern: '/auth/sessions', auth: true, handle: async (c) => ({ status: 200, body: { sessions: (await u.listSessions.execute(c.actor)).map(sessionView(c.sessionId)) } }) },
    { method: 'DELETE', pattern: '/auth/sessions/:id', auth: true, handle: async (c) => reply(await u.revokeSession.execute(c.actor, c.paramAs(0, sessionIdSchema)), 200, (v) => v) },
    {
      method: 'POST', pattern: '/users/me/password', auth: true, limit: 'login',
      handle: async (c) => reply(await u.changePassword.execute(c.actor, await c.json(changePasswordSchema), deviceOfRequest(c)), 200, signedIn),
    },
    { method: 'GET', pattern: '/users/me', auth: true, handle: async (c) => ({ status: 200, body: userView(c.user!) }) },
    { method: 'DELETE', pattern: '/users/me', auth: true, handle: async (c) => (await u.deleteAccount.execute(c.actor), { status: 204 }) },
    {
      method: 'POST', pattern: '/conversations', auth: true, limit: 'createConversation',
      handle: async (c) => {
        const r = await u.createConversation.execute(c.actor, await c.json(createConversationSchema));
        return reply(r, r.ok && !r.value.created ? 200 : 201, (v) => conversationView(v.conversation, v.participants));
      },
    },
    {
      method: 'GET', pattern: '/conversations', auth: true,
      handle: async (c) =>
        reply(await u.listConversations.execute(c.actor, c.query(listQuerySchema)), 200, (l) => ({ conversations: l.conversations.map(conversationSummaryView), next_cursor: l.nextCursor })),
    },
    { method: 'GET', pattern: '/conversations/:id', auth: true, handle: async (c) => reply(await u.getConversation.execute(c.actor, c.param(0)), 200, (v) => conversationView(v.conversation, v.participants)) },
    { method: 'GET', pattern: '/conversations/:id/participants', auth: true, handle: async (c) => reply(await u.listParticipants.execute(c.actor, c.param(0)), 200, (ps) => ({ participants: ps.map(participantView) })) },
    {
      method: 'POST', pattern: '/conversations/:id/participants', auth: true,
      handle: async (c) => {
        const { user_id } = await c.json(addParticipantSchema);
        const added = await u.addParticipant.execute(c.actor, c.param(0), user_id);
        if (!added.ok) return errorReply(added.error);
        return reply(await u.getConversation.execute(c.actor, c.param(0)), 200, (v) => conversationView(v.conversation, v.participants));
      },
    },
    { method: 'DELETE', pattern: '/conversations/:id/participants/:userId', auth: true, handle: async (c) => reply(await u.removeParticipant.execute(c.actor, c.param(0), c.param(1)), 200, (v) => v) },
    {
      method: 'GET', pattern: '/conversations/:id/messages', auth: true,
      handle: async (c) => {
        const id = c.param(0);
        return reply(await u.getMessages.execute(c.actor, id, c.query(pageQuerySchema)), 200, (p) => ({ messages: p.messages.map(messageView), has_more: p.hasMore }));
      },
    },
    {
      method: 'POST', pattern: '/conversations/:id/messages', auth: true, limit: 'restSend',
      handle: async (c) => {
        const id = c.param(0);
        const input = await c.json(sendMessageSchema.omit({ conversation_id: true }));
        const r = await u.sendMessage.execute(c.actor, { ...input, conversation_id: id });
        return reply(r, r.ok && !r.value.created ? 200 : 201, (v) => messageView(v.message));
      },
    },
    {
      method: 'POST', pattern: '/conversations/:id/read', auth: true,
      handle: async (c) => {
        const id = c.param(0);
        const input = await c.json(markReadSchema.omit({ conversation_id: true }));
        return reply(await u.markRead.execute(c.actor, { ...input, conversation_id: id }), 200, (v) => v);
      },
    },
    {
      method: 'PATCH', pattern: '/messages/:id', auth: true,
      handle: async (c) => {
        const id = c.param(0);
        const { content } = await c.json(sendMessageSchema.pick({ content: true }).required());
        return reply(await u.editMessage.execute(c.actor, { message_id: id, content }), 200, messageView);
      },
    },
    { method: 'DELETE', pattern: '/messages/:id', auth: true, handle: async (c) => reply(await u.deleteMessage.execute(c.actor, c.param(0)), 200, (v) => v) },
  ];
}
