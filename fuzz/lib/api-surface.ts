import { z } from 'zod';
import type { UseCases } from '../../src/application/use-cases.js';
import { openApiDocument } from '../../src/adapters/gateway/api-documents.js';
import { CHAT_EVENTS, type ChatEventName } from '../../src/adapters/gateway/chat-events.js';
import { routeTable } from '../../src/adapters/gateway/route-table.js';
import type { ManageWebhooks } from '../../src/application/webhooks/manage-webhooks.js';
import type { People } from '../../src/application/people/people.js';

/**
 * What the fuzz aims at, read from the server's own tables: the REST routes
 * (the OpenAPI document generated from the routes table, health checks
 * included) and the client events (`CHAT_EVENTS`). A route or event added
 * there is fuzzed without touching this folder.
 */

export type FieldKind =
  'id' | 'ids' | 'text' | 'url' | 'type' | 'bool' | 'since' | 'attachment' | 'client_id' | 'email' | 'username' | 'password' | 'role' | 'size';
export type Fields = Readonly<Record<string, FieldKind>>;

/** Which id a path parameter wants, told by the segment before it. */
export type ParamKind = 'conversation' | 'message' | 'user' | 'session' | 'webhook' | 'report' | 'upload' | 'emoji' | 'other';

export interface RouteSpec {
  readonly method: string;
  /** The routes table's pattern: segments, `:name` captures one. */
  readonly pattern: string;
  readonly auth: boolean;
  readonly body?: Fields;
  /** The query parameters it reads. */
  readonly query: readonly string[];
}

/** Kinds of the fields the fuzz knows how to fill with meaningful values; others get one from their JSON type. */
export const FIELD_KINDS: Fields = {
  email: 'email',
  username: 'username',
  password: 'password',
  current_password: 'password',
  new_password: 'password',
  role: 'role',
  phone_number: 'text',
  profile_picture: 'url',
  refresh_token: 'text',
  token: 'text',
  participant_ids: 'ids',
  title: 'text',
  is_open: 'bool',
  user_id: 'id',
  conversation_id: 'id',
  message_id: 'id',
  content: 'text',
  type: 'type',
  client_id: 'client_id',
  attachment: 'attachment',
  since: 'since',
  is_typing: 'bool',
  endpoint: 'url',
  expirationTime: 'since',
  keys: 'text',
  url: 'url',
  event_types: 'ids',
  description: 'text',
  secret: 'text',
  display_name: 'text',
  picture_url: 'url',
  reason: 'text',
  name: 'text',
  mime_type: 'text',
  size: 'size',
};

type JsonSchema = { type?: string; properties?: Record<string, JsonSchema> };

function kindOf(name: string, schema: JsonSchema): FieldKind {
  if (Object.hasOwn(FIELD_KINDS, name)) return FIELD_KINDS[name]!;
  if (name.endsWith('_ids') || schema.type === 'array') return 'ids';
  if (name.endsWith('_id')) return 'id';
  return schema.type === 'boolean' ? 'bool' : 'text';
}

const fieldsOf = (schema: JsonSchema): Fields => Object.fromEntries(Object.entries(schema.properties ?? {}).map(([name, s]) => [name, kindOf(name, s)]));

/** Routes are only described here, never run. */
const describedOnly = new Proxy(
  {},
  {
    get: () => {
      throw new Error('routes are not served by the fuzz');
    },
  },
) as UseCases & ManageWebhooks & People;

interface Operation {
  security?: unknown[];
  parameters?: { name: string; in: string }[];
  requestBody?: { content: { 'application/json': { schema: JsonSchema } } };
}

/** Every route of the REST API, with `/healthz` and `/readyz`. */
export const ROUTES: readonly RouteSpec[] = Object.entries(
  openApiDocument(routeTable(describedOnly, describedOnly, describedOnly), { version: 'fuzz' }).paths as Record<string, Record<string, Operation>>,
).flatMap(([path, operations]) =>
  Object.entries(operations).map(([method, op]) => {
    const body = op.requestBody?.content['application/json'].schema;
    return {
      method: method.toUpperCase(),
      pattern: path.replace(/\{(\w+)\}/g, ':$1'),
      auth: (op.security ?? []).length > 0,
      ...(body ? { body: fieldsOf(body) } : {}),
      query: (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name),
    };
  }),
);

/** `/conversations/:id` wants a conversation, `/participants/:userId` a user, and so on. */
export function paramKind(previousSegment: string): ParamKind {
  switch (previousSegment) {
    case 'conversations':
      return 'conversation';
    case 'messages':
      return 'message';
    case 'participants':
    case 'users':
      return 'user';
    case 'sessions':
      return 'session';
    case 'webhooks':
      return 'webhook';
    case 'reports':
      return 'report';
    case 'uploads':
    case 'files':
      return 'upload';
    case 'reactions':
      return 'emoji';
    default:
      return 'other';
  }
}

/** The client events of the realtime protocol. */
export const CLIENT_EVENTS = Object.keys(CHAT_EVENTS) as ChatEventName[];
export type ClientEvent = ChatEventName;

/** The fields of each event's `data` and what kind of value each wants. */
export const FIELDS = Object.fromEntries(
  CLIENT_EVENTS.map((event) => [event, fieldsOf(z.toJSONSchema(CHAT_EVENTS[event].input, { io: 'input', unrepresentable: 'any' }) as JsonSchema)]),
) as Record<ClientEvent, Fields>;

/** Field names of routes and events that have no entry in FIELD_KINDS (filled by their JSON type instead). */
export const unkindedFields = (): string[] =>
  [...new Set([...ROUTES.flatMap((r) => Object.keys(r.body ?? {})), ...Object.values(FIELDS).flatMap((f) => Object.keys(f))])].filter(
    (name) => !Object.hasOwn(FIELD_KINDS, name),
  );
