import { z } from 'zod';
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
  messageId as messageIdParam,
  pageQuerySchema,
  eventsQuerySchema,
  registerSchema,
  sendMessageSchema,
} from '../../application/schemas.js';
import {
  conversationSummaryView,
  conversationView,
  eventPageView,
  messagePageStateView,
  messageView,
  participantView,
  userView,
} from '../../application/views.js';
import {
  conversationListSchema,
  conversationViewSchema,
  deletedSchema,
  eventPageSchema,
  membershipSchema,
  messagePageSchema,
  messageViewSchema,
  participantSchema,
  readReceiptResultSchema,
  sessionViewSchema,
  signedInSchema,
  userViewSchema,
} from '../../application/wire-schemas.js';
import { muteSchema, pushEndpointSchema, pushSubscriptionSchema, registeredSubscriptionSchema, vapidPublicKeySchema } from '../../application/push-schemas.js';
import { UPLOAD_SEND_REFUSALS } from './file-routes.js';
import { errorReply, type HttpReply, type HttpRequest } from './http.js';
import type { RequestLimit } from './rate-limits.js';
import type { WireError } from './wire-error.js';

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface RouteContext {
  readonly actor: Actor;
  /** The authenticated user, on routes with auth. */
  readonly user: User | null;
  /** The session of the caller's token (null without auth, or for an external identity provider's token). */
  readonly sessionId: string | null;
  readonly request: HttpRequest;
  /** The path parameter at `index`, checked with the route's schema for it (an id unless it says otherwise). */
  param(index: number): number;
  paramAs<T>(index: number): T;
  /** The client's address (behind trusted proxies, the one they saw). */
  readonly clientAddress: string;
}

/** What the router parsed before the handler runs. */
export interface RouteInput<B extends z.ZodType, Q extends z.ZodType> {
  readonly body: z.output<B>;
  readonly query: z.output<Q>;
}

/**
 * One REST endpoint: what it accepts, what it answers, and the handler. The
 * router validates the body, query and path with these very schemas, and the
 * OpenAPI document (openapi.ts) is generated from them.
 */
export interface Route<B extends z.ZodType = z.ZodType, Q extends z.ZodType = z.ZodType> {
  readonly method: Method;
  /** Segments; `:name` captures one. */
  readonly pattern: string;
  /** Routes without auth get an anonymous actor (id 0). */
  readonly auth: boolean;
  /** Staff only (with auth): anyone else gets 404 NOT_FOUND, as for a route that does not exist. */
  readonly staff?: boolean;
  /** A request limit charged before the handler runs (per IP, or per user after auth). */
  readonly limit?: RequestLimit;
  readonly summary: string;
  readonly description?: string;
  /** The JSON body; routes without one never read it. */
  readonly body?: B;
  readonly query?: Q;
  /** Schemas of the path parameters, in order; an id (a positive integer) where not given. */
  readonly params?: readonly z.ZodType[];
  /** Success statuses and the schema of their bodies (null: no body). */
  readonly replies: Readonly<Record<number, z.ZodType | null>>;
  /** Refusals particular to this route; the ones every route of its kind gives (auth, validation, limits) are implied. */
  readonly refusals?: ReadonlyArray<WireError['code']>;
  readonly handle: (c: RouteContext, input: RouteInput<B, Q>) => Promise<HttpReply>;
}

/** Keeps each route's handler typed by its own schemas. */
export const route = <B extends z.ZodType = z.ZodUndefined, Q extends z.ZodType = z.ZodUndefined>(r: Route<B, Q>): Route => r as unknown as Route;

export const reply = <T>(result: Result<T>, status: number, view: (value: T) => unknown): HttpReply =>
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

const sendBodySchema = sendMessageSchema.omit({ conversation_id: true });
const markReadBodySchema = markReadSchema.omit({ conversation_id: true });
const editBodySchema = sendMessageSchema.pick({ content: true }).required();
const sessionListSchema = z.object({ sessions: z.array(sessionViewSchema) });
const participantListSchema = z.object({ participants: z.array(participantSchema) });
const revokedSchema = z.object({ revoked: z.boolean().describe('false when the token carried no session (an external identity provider’s)') });
const revokedSessionSchema = z.object({ id: z.string() });

/** The REST API (docs/API.md): what each endpoint does, whatever serves it. */
export function restRoutes(u: UseCases): Route[] {
  return [
    route({
      method: 'POST',
      pattern: '/auth/register',
      auth: false,
      limit: 'register',
      summary: 'Create an account and sign in',
      body: registerSchema,
      replies: { 201: signedInSchema },
      refusals: ['EMAIL_TAKEN', 'USERNAME_TAKEN'],
      handle: async (c, i) => reply(await u.registerUser.execute(i.body, deviceOfRequest(c)), 201, signedIn),
    }),
    route({
      method: 'POST',
      pattern: '/auth/login',
      auth: false,
      limit: 'login',
      summary: 'Sign in with email or username and password',
      description: 'Repeated failures lock the account for a while: the refusal is RATE_LIMITED with Retry-After.',
      body: logInSchema,
      replies: { 200: signedInSchema },
      refusals: ['INVALID_CREDENTIALS'],
      handle: async (c, i) => reply(await u.logIn.execute(i.body, deviceOfRequest(c)), 200, signedIn),
    }),
    route({
      method: 'POST',
      pattern: '/auth/refresh',
      auth: false,
      limit: 'login',
      summary: 'Exchange a refresh token for a new access token and a new refresh token',
      description: 'Each refresh token works once; presenting a used one again ends its session everywhere.',
      body: refreshSchema,
      replies: { 200: signedInSchema },
      refusals: ['UNAUTHORIZED'],
      handle: async (c, i) => reply(await u.refreshSession.execute(i.body.refresh_token, deviceOfRequest(c)), 200, signedIn),
    }),
    route({
      method: 'POST',
      pattern: '/auth/logout',
      auth: true,
      summary: 'End the session of this token; its sockets close with 4001',
      replies: { 200: revokedSchema },
      handle: async (c) => reply(await u.logOut.execute(c.actor, c.sessionId), 200, (v) => v),
    }),
    route({
      method: 'GET',
      pattern: '/auth/sessions',
      auth: true,
      summary: 'The caller’s live sessions (devices)',
      replies: { 200: sessionListSchema },
      handle: async (c) => ({ status: 200, body: { sessions: (await u.listSessions.execute(c.actor)).map(sessionView(c.sessionId)) } }),
    }),
    route({
      method: 'DELETE',
      pattern: '/auth/sessions/:id',
      auth: true,
      summary: 'End one of the caller’s sessions; its sockets close with 4001',
      params: [sessionIdSchema],
      replies: { 200: revokedSessionSchema },
      refusals: ['SESSION_NOT_FOUND'],
      handle: async (c) => reply(await u.revokeSession.execute(c.actor, c.paramAs<string>(0)), 200, (v) => v),
    }),
    route({
      method: 'POST',
      pattern: '/users/me/password',
      auth: true,
      limit: 'login',
      summary: 'Change the password; every other session ends',
      body: changePasswordSchema,
      replies: { 200: signedInSchema },
      refusals: ['INVALID_CREDENTIALS'],
      handle: async (c, i) => reply(await u.changePassword.execute(c.actor, i.body, deviceOfRequest(c)), 200, signedIn),
    }),
    route({
      method: 'GET',
      pattern: '/users/me',
      auth: true,
      summary: 'The caller’s profile',
      replies: { 200: userViewSchema },
      handle: async (c) => ({ status: 200, body: userView(c.user!) }),
    }),
    route({
      method: 'DELETE',
      pattern: '/users/me',
      auth: true,
      summary: 'Deactivate the caller’s account; every session ends',
      replies: { 204: null },
      handle: async (c) => (await u.deleteAccount.execute(c.actor), { status: 204 }),
    }),
    route({
      method: 'POST',
      pattern: '/conversations',
      auth: true,
      limit: 'createConversation',
      summary: 'Start a conversation',
      description: 'With one other participant and no title, the direct conversation between the two: 200 when it already exists.',
      body: createConversationSchema,
      replies: { 201: conversationViewSchema, 200: conversationViewSchema },
      refusals: ['USER_NOT_FOUND', 'USER_BLOCKED'],
      handle: async (c, i) => {
        const r = await u.createConversation.execute(c.actor, i.body);
        return reply(r, r.ok && !r.value.created ? 200 : 201, (v) => conversationView(v.conversation, v.participants));
      },
    }),
    route({
      method: 'GET',
      pattern: '/conversations',
      auth: true,
      summary: 'The caller’s conversations, latest activity first, a page at a time',
      query: listQuerySchema,
      replies: { 200: conversationListSchema },
      handle: async (c, i) =>
        reply(await u.listConversations.execute(c.actor, i.query), 200, (l) => ({
          conversations: l.conversations.map(conversationSummaryView),
          next_cursor: l.nextCursor,
        })),
    }),
    route({
      method: 'GET',
      pattern: '/conversations/:id',
      auth: true,
      summary: 'One conversation with its participants',
      replies: { 200: conversationViewSchema },
      refusals: ['CONVERSATION_NOT_FOUND'],
      handle: async (c) => reply(await u.getConversation.execute(c.actor, c.param(0)), 200, (v) => conversationView(v.conversation, v.participants)),
    }),
    route({
      method: 'GET',
      pattern: '/conversations/:id/participants',
      auth: true,
      summary: 'The participants with their presence',
      replies: { 200: participantListSchema },
      refusals: ['CONVERSATION_NOT_FOUND'],
      handle: async (c) => reply(await u.listParticipants.execute(c.actor, c.param(0)), 200, (ps) => ({ participants: ps.map(participantView) })),
    }),
    route({
      method: 'POST',
      pattern: '/conversations/:id/participants',
      auth: true,
      summary: 'Add a participant to a group',
      body: addParticipantSchema,
      replies: { 200: conversationViewSchema },
      refusals: ['CONVERSATION_NOT_FOUND', 'USER_NOT_FOUND', 'NOT_A_GROUP', 'NOT_A_PARTICIPANT'],
      handle: async (c, i) => {
        const added = await u.addParticipant.execute(c.actor, c.param(0), i.body.user_id);
        if (!added.ok) return errorReply(added.error);
        return reply(await u.getConversation.execute(c.actor, c.param(0)), 200, (v) => conversationView(v.conversation, v.participants));
      },
    }),
    route({
      method: 'DELETE',
      pattern: '/conversations/:id/participants/:userId',
      auth: true,
      summary: 'Remove a participant from a group (or leave it)',
      replies: { 200: membershipSchema },
      refusals: ['CONVERSATION_NOT_FOUND', 'NOT_A_GROUP', 'FORBIDDEN', 'NOT_A_PARTICIPANT'],
      handle: async (c) => reply(await u.removeParticipant.execute(c.actor, c.param(0), c.param(1)), 200, (v) => v),
    }),
    route({
      method: 'GET',
      pattern: '/conversations/:id/messages',
      auth: true,
      summary: 'A page of messages: the latest, `before` an id (older), or `after` an id (newer)',
      query: pageQuerySchema,
      replies: { 200: messagePageSchema },
      refusals: ['CONVERSATION_NOT_FOUND'],
      handle: async (c, i) =>
        reply(await u.getMessages.execute(c.actor, c.param(0), i.query), 200, (p) => ({
          messages: p.messages.map(messageView),
          has_more: p.hasMore,
          ...messagePageStateView(p),
        })),
    }),
    route({
      method: 'GET',
      pattern: '/conversations/:id/events',
      auth: true,
      summary: 'Every change to the conversation after `since`, in order: messages, edits, deletions, read receipts, participants added and removed',
      description:
        'Each event is the push it was delivered as live (`event`, `data`). `since` is the last stream id the client saw (a message id is one); pass `next_cursor` back while `has_more`.',
      query: eventsQuerySchema,
      replies: { 200: eventPageSchema },
      refusals: ['CONVERSATION_NOT_FOUND'],
      handle: async (c, i) => reply(await u.readEvents.ofConversation(c.actor, c.param(0), i.query), 200, eventPageView),
    }),
    route({
      method: 'GET',
      pattern: '/sync',
      auth: true,
      summary: 'Everything that changed in all of the caller’s conversations after `since`, in bounded pages',
      description:
        'One request for an app back from the background. Events are in stream order (per conversation, commit order); `next_cursor` is returned even when nothing changed: keep it for the next call. Without `since`, from the beginning.',
      query: eventsQuerySchema,
      replies: { 200: eventPageSchema },
      handle: async (c, i) => reply(await u.readEvents.sync(c.actor, i.query), 200, eventPageView),
    }),
    route({
      method: 'POST',
      pattern: '/conversations/:id/messages',
      auth: true,
      limit: 'restSend',
      summary: 'Send a message',
      description:
        'A repeated `client_id` from the same sender in the same conversation answers 200 with the message first stored (MESSAGE_NOT_FOUND once that message is deleted).',
      body: sendBodySchema,
      replies: { 201: messageViewSchema, 200: messageViewSchema },
      refusals: ['CONVERSATION_NOT_FOUND', 'CONTENT_TOO_LONG', 'MESSAGE_NOT_FOUND', 'USER_BLOCKED', ...UPLOAD_SEND_REFUSALS],
      handle: async (c, i) => {
        const r = await u.sendMessage.execute(c.actor, { ...i.body, conversation_id: c.param(0) });
        return reply(r, r.ok && !r.value.created ? 200 : 201, (v) => messageView(v.message));
      },
    }),
    route({
      method: 'POST',
      pattern: '/conversations/:id/read',
      auth: true,
      summary: 'Mark the conversation read up to a message',
      body: markReadBodySchema,
      replies: { 200: readReceiptResultSchema },
      refusals: ['CONVERSATION_NOT_FOUND', 'MESSAGE_NOT_FOUND'],
      handle: async (c, i) => reply(await u.markRead.execute(c.actor, { ...i.body, conversation_id: c.param(0) }), 200, (v) => v),
    }),
    route({
      method: 'PUT',
      pattern: '/conversations/:id/mute',
      auth: true,
      summary: 'Mute the conversation for the caller: it sends them no push notifications',
      replies: { 200: muteSchema },
      refusals: ['CONVERSATION_NOT_FOUND'],
      handle: async (c) => reply(await u.muteConversation.execute(c.actor, c.param(0), true), 200, (v) => v),
    }),
    route({
      method: 'DELETE',
      pattern: '/conversations/:id/mute',
      auth: true,
      summary: 'Unmute the conversation for the caller',
      replies: { 200: muteSchema },
      refusals: ['CONVERSATION_NOT_FOUND'],
      handle: async (c) => reply(await u.muteConversation.execute(c.actor, c.param(0), false), 200, (v) => v),
    }),
    route({
      method: 'GET',
      pattern: '/push/vapid-public-key',
      auth: true,
      summary: 'The server’s VAPID public key, the `applicationServerKey` browsers subscribe with',
      replies: { 200: vapidPublicKeySchema },
      handle: async () => ({ status: 200, body: u.pushPublicKey.execute() }),
    }),
    route({
      method: 'POST',
      pattern: '/push/subscriptions',
      auth: true,
      summary: 'Register the browser’s push subscription for the caller (docs/PUSH.md)',
      description:
        'The browser’s PushSubscription JSON. An endpoint registered before (by anyone) moves to the caller with these keys; beyond PUSH_MAX_SUBSCRIPTIONS the caller’s subscription registered longest ago is dropped.',
      body: pushSubscriptionSchema,
      replies: { 201: registeredSubscriptionSchema },
      handle: async (c, i) => reply(await u.subscribePush.execute(c.actor, c.sessionId, i.body), 201, (v) => v),
    }),
    route({
      method: 'DELETE',
      pattern: '/push/subscriptions',
      auth: true,
      summary: 'Remove one of the caller’s push subscriptions, by endpoint',
      body: pushEndpointSchema,
      replies: { 204: null },
      refusals: ['SUBSCRIPTION_NOT_FOUND'],
      handle: async (c, i) => {
        const r = await u.unsubscribePush.execute(c.actor, i.body.endpoint);
        return r.ok ? { status: 204 } : errorReply(r.error);
      },
    }),
    route({
      method: 'PATCH',
      pattern: '/messages/:id',
      auth: true,
      summary: 'Edit one of the caller’s messages',
      params: [messageIdParam],
      body: editBodySchema,
      replies: { 200: messageViewSchema },
      refusals: ['MESSAGE_NOT_FOUND', 'NOT_MESSAGE_SENDER', 'CONTENT_TOO_LONG'],
      handle: async (c, i) => reply(await u.editMessage.execute(c.actor, { message_id: c.param(0), content: i.body.content }), 200, messageView),
    }),
    route({
      method: 'DELETE',
      pattern: '/messages/:id',
      auth: true,
      summary: 'Delete one of the caller’s messages, softly (staff: any message)',
      params: [messageIdParam],
      replies: { 200: deletedSchema },
      refusals: ['MESSAGE_NOT_FOUND', 'NOT_MESSAGE_SENDER'],
      handle: async (c) => reply(await u.deleteMessage.execute(c.actor, c.param(0)), 200, (v) => v),
    }),
  ];
}
