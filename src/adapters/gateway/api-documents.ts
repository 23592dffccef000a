import { z } from 'zod';
import { healthSchema, pushEventSchemas, readinessSchema } from '../../application/wire-schemas.js';
import { CHAT_EVENTS, type ChatEventName } from './chat-events.js';
import type { Route } from './rest-routes.js';
import { HTTP_STATUS, type WireError } from './wire-error.js';
import { MAX_ACK_LENGTH } from './realtime-endpoint.js';

/**
 * The OpenAPI 3.1 (REST) and AsyncAPI 3 (`/ws`) documents, generated from the
 * zod schemas the server validates requests with and types its replies by.
 * Served at /openapi.json and /asyncapi.json and written to docs/ by
 * `npm run docs:api`.
 */

type JsonSchema = Record<string, unknown>;
type Code = WireError['code'];

const COMPONENTS = '#/components/schemas/';

/** Every schema with a `.meta({id})`, as components that the documents refer to. */
function namedSchemas(): Record<string, JsonSchema> {
  const { schemas } = z.toJSONSchema(z.globalRegistry, { target: 'draft-2020-12', io: 'output', unrepresentable: 'any', uri: (id) => COMPONENTS + id });
  return Object.fromEntries(Object.entries(schemas).map(([id, s]) => [id, strip(s as JsonSchema)]));
}

/** One schema, its named parts referred to in components (where namedSchemas() puts them). */
function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $defs: _inComponents, ...own } = strip(z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as JsonSchema);
  return JSON.parse(JSON.stringify(own).replaceAll('"#/$defs/', `"${COMPONENTS}`)) as JsonSchema;
}

function strip(s: JsonSchema): JsonSchema {
  const { $schema: _schema, $id: _id, ...rest } = s;
  return rest;
}

/** The error body, with `code` narrowed to the given codes. */
const errorBody = (codes: readonly Code[]): JsonSchema => ({
  allOf: [{ $ref: `${COMPONENTS}Error` }, { type: 'object', properties: { error: { type: 'object', properties: { code: { enum: [...codes] } } } } }],
});

function impliedRefusals(route: Route): Code[] {
  const codes: Code[] = ['INTERNAL', 'OVERLOADED', 'SERVICE_UNAVAILABLE'];
  if (route.auth) codes.push('UNAUTHORIZED');
  if (route.staff) codes.push('NOT_FOUND');
  if (route.body) codes.push('INVALID_JSON', 'VALIDATION_FAILED', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE');
  if (route.method !== 'GET') codes.push('ORIGIN_NOT_ALLOWED');
  if (route.query || route.pattern.includes(':')) codes.push('VALIDATION_FAILED');
  if (route.limit) codes.push('RATE_LIMITED');
  return codes;
}

const byStatus = (codes: readonly Code[]): Map<number, Code[]> => {
  const out = new Map<number, Code[]>();
  for (const code of new Set(codes)) {
    const status = HTTP_STATUS[code];
    out.set(status, [...(out.get(status) ?? []), code]);
  }
  return out;
};

const openApiPath = (pattern: string): string => pattern.replace(/:(\w+)/g, '{$1}');

export interface DocumentInfo {
  readonly version: string;
}

export function openApiDocument(routes: readonly Route[], info: DocumentInfo): JsonSchema {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const names = [...route.pattern.matchAll(/:(\w+)/g)].map((m) => m[1]!);
    const parameters: JsonSchema[] = names.map((name, i) => ({
      name,
      in: 'path',
      required: true,
      schema: route.params?.[i] ? jsonSchema(route.params[i], 'input') : { type: 'integer', minimum: 1, maximum: 2_147_483_647 },
    }));
    if (route.query) {
      const q = jsonSchema(route.query, 'input') as { properties?: Record<string, JsonSchema>; required?: string[] };
      for (const [name, schema] of Object.entries(q.properties ?? {})) {
        parameters.push({ name, in: 'query', required: q.required?.includes(name) ?? false, schema });
      }
    }
    const responses: Record<string, unknown> = {};
    for (const [status, schema] of Object.entries(route.replies)) {
      responses[status] = schema
        ? { description: 'Success', content: { 'application/json': { schema: jsonSchema(schema, 'output') } } }
        : { description: 'Success, no body' };
    }
    for (const [status, codes] of byStatus([...impliedRefusals(route), ...(route.refusals ?? [])])) {
      responses[String(status)] = {
        description: codes.join(', '),
        ...(status === 429 || status === 503 ? { headers: { 'Retry-After': { schema: { type: 'integer' }, description: 'Seconds to wait' } } } : {}),
        content: { 'application/json': { schema: errorBody(codes) } },
      };
    }
    const operation = {
      operationId: operationId(route),
      summary: route.summary,
      ...(route.description ? { description: route.description } : {}),
      ...(parameters.length ? { parameters } : {}),
      ...(route.body ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(route.body, 'input') } } } } : {}),
      responses,
      // Public operations say so (an empty list), so no operation leaves its security unstated.
      security: route.auth ? [{ bearer: [] }] : [],
    };
    (paths[openApiPath(route.pattern)] ??= {})[route.method.toLowerCase()] = operation;
  }
  const json = (schema: z.ZodType) => ({ 'application/json': { schema: jsonSchema(schema, 'output') } });
  paths['/healthz'] = {
    get: {
      operationId: 'getHealthz',
      summary: 'Liveness: the process serves requests',
      responses: { 200: { description: 'Alive', content: json(healthSchema) } },
      security: [],
    },
  };
  paths['/readyz'] = {
    get: {
      operationId: 'getReadyz',
      summary: 'Readiness: the database answers and the fan-out listens',
      responses: { 200: { description: 'Ready', content: json(readinessSchema) }, 503: { description: 'Not ready', content: json(readinessSchema) } },
      security: [],
    },
  };
  return {
    openapi: '3.1.0',
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    info: {
      title: 'Chat server REST API',
      version: info.version,
      description: 'Ids are accepted as numbers or numeric strings. Every refusal is `{error: {code, message, details?}}` with a stable code.',
      license: LICENSE,
    },
    // Relative: the API is on the server that serves this document (at /openapi.json).
    servers: [{ url: '/', description: 'This server' }],
    paths,
    components: { schemas: usedBy(paths, namedSchemas()), securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
  };
}

/** package.json's license (a unit test keeps the two equal). */
export const LICENSE = { name: 'MIT', identifier: 'MIT' } as const;

/** The components `root` refers to, directly or through other components (the realtime document's own ones left out). */
function usedBy(root: unknown, schemas: Record<string, JsonSchema>): Record<string, JsonSchema> {
  const used = new Set<string>();
  const visit = (value: unknown): void => {
    for (const [, id] of JSON.stringify(value).matchAll(/"\$ref":"#\/components\/schemas\/([^"/]+)/g)) {
      if (used.has(id!) || !schemas[id!]) continue;
      used.add(id!);
      visit(schemas[id!]);
    }
  };
  visit(root);
  return Object.fromEntries(Object.entries(schemas).filter(([id]) => used.has(id)));
}

/** `GET /conversations/:id/messages` → `getConversationsIdMessages`. */
function operationId(route: Route): string {
  const words = route.pattern
    .split('/')
    .filter(Boolean)
    .map((s) => s.replace(/^:/, ''));
  return route.method.toLowerCase() + words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join('');
}

const ackSchema: JsonSchema = {
  description: `Echoed in the answer; a number or a string of at most ${MAX_ACK_LENGTH} characters`,
  anyOf: [{ type: 'number' }, { type: 'string', maxLength: MAX_ACK_LENGTH }],
};

/** Refusals any event can get. */
const EVENT_REFUSALS: readonly Code[] = ['VALIDATION_FAILED', 'RATE_LIMITED', 'OVERLOADED', 'SERVICE_UNAVAILABLE', 'INTERNAL'];
/** Refusals of frames that are not events at all. */
const FRAME_REFUSALS: readonly Code[] = ['INVALID_JSON', 'INVALID_FRAME', 'UNKNOWN_EVENT', 'RATE_LIMITED'];

/** A frame; the server's frames carry exactly these fields, a client's may carry more (they are ignored). */
const frame = (event: JsonSchema, fields: Record<string, JsonSchema>, required: string[], from: 'client' | 'server' = 'server'): JsonSchema => ({
  type: 'object',
  properties: { event, ...fields },
  required: ['event', ...required],
  ...(from === 'server' ? { additionalProperties: false } : {}),
});

export function asyncApiDocument(info: DocumentInfo): JsonSchema {
  const messages: Record<string, JsonSchema> = {};
  const operations: Record<string, JsonSchema> = {};
  const channel = { $ref: '#/channels/ws' };
  const ref = (name: string) => ({ $ref: `#/channels/ws/messages/${name}` });

  for (const name of Object.keys(CHAT_EVENTS) as ChatEventName[]) {
    const spec = CHAT_EVENTS[name];
    messages[name] = {
      name,
      summary: spec.summary,
      payload: frame({ const: name }, { data: jsonSchema(spec.input, 'input'), ack: ackSchema }, [], 'client'),
    };
    messages[`${name}Ack`] = {
      name: 'ack',
      summary: `The answer to a ${name} that carried \`ack\``,
      payload: frame({ const: 'ack' }, { ack: ackSchema, data: jsonSchema(spec.result, 'output') }, ['ack', 'data']),
    };
    messages[`${name}Error`] = {
      name: 'error',
      summary: `A refused ${name} (with \`ack\` when it carried one)`,
      payload: frame({ const: 'error' }, { ack: ackSchema, ...errorFields([...EVENT_REFUSALS, ...spec.refusals]) }, ['error']),
    };
    operations[name] = {
      action: 'receive',
      channel,
      summary: spec.summary,
      messages: [ref(name)],
      reply: { channel, messages: [ref(`${name}Ack`), ref(`${name}Error`)] },
    };
  }
  messages.frameError = {
    name: 'error',
    summary: 'A frame that is not an event: not JSON, not an object, an unknown event, a bad ack, or over the rate limit',
    payload: frame({ const: 'error' }, { ack: ackSchema, ...errorFields(FRAME_REFUSALS) }, ['error']),
  };
  operations.frameError = { action: 'send', channel, summary: messages.frameError.summary, messages: [ref('frameError')] };

  for (const [name, schema] of Object.entries(pushEventSchemas)) {
    messages[name] = { name, summary: `Pushed: ${name}`, payload: frame({ const: name }, { data: jsonSchema(schema, 'output') }, ['data']) };
    operations[name] = { action: 'send', channel, summary: `The server pushes ${name}`, messages: [ref(name)] };
  }

  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Chat server realtime protocol',
      version: info.version,
      description:
        'JSON text frames over a WebSocket at /ws. Authenticate with `?token=<access token>` or an Authorization header on the upgrade; ' +
        'a refused upgrade is an HTTP 401. The Socket.IO endpoint (/socket.io/) carries the same events with the same payloads, the answer in the acknowledgement.',
    },
    defaultContentType: 'application/json',
    channels: {
      ws: {
        address: '/ws',
        messages: Object.fromEntries(Object.keys(messages).map((k) => [k, { $ref: `#/components/messages/${k}` }])),
        bindings: { ws: { query: { type: 'object', properties: { token: { type: 'string', description: 'The access token' } } } } },
      },
    },
    operations,
    components: { messages, schemas: namedSchemas() },
  };
}

function errorFields(codes: readonly Code[]): Record<string, JsonSchema> {
  return { error: { allOf: [{ $ref: `${COMPONENTS}Error/properties/error` }, { type: 'object', properties: { code: { enum: [...new Set(codes)] } } }] } };
}
