import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

/**
 * Checks every REST response and every /ws frame the tests' clients receive
 * against docs/openapi.json and docs/asyncapi.json (which a unit test proves
 * are what the code generates, and an end-to-end test proves are what the
 * server serves). A response or frame that the documents do not describe is a
 * violation; the setup file fails the test during which one was seen.
 */

type Json = Record<string, any>;

const docs = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'docs');
const openapi = JSON.parse(readFileSync(path.join(docs, 'openapi.json'), 'utf8')) as Json;
const asyncapi = JSON.parse(readFileSync(path.join(docs, 'asyncapi.json'), 'utf8')) as Json;

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;
const ajv = addFormats(new Ajv2020({ strict: false, allErrors: true }));
ajv.addSchema(openapi, 'openapi');
ajv.addSchema(asyncapi, 'asyncapi');

const pointer = (...parts: string[]) => parts.map((p) => p.replaceAll('~', '~0').replaceAll('/', '~1')).join('/');
const validators = new Map<string, ValidateFunction>();
function validator(ref: string): ValidateFunction {
  let v = validators.get(ref);
  if (!v) validators.set(ref, (v = ajv.compile({ $ref: ref })));
  return v;
}

interface Operation {
  readonly method: string;
  readonly template: string;
  readonly pattern: RegExp;
  readonly responses: Json;
}

const operations: Operation[] = Object.entries(openapi.paths as Json).flatMap(([template, methods]) =>
  Object.entries(methods as Json).map(([method, op]) => ({
    method: method.toUpperCase(),
    template,
    pattern: new RegExp(`^${template.replace(/\{\w+\}/g, '[^/]+')}/?$`),
    responses: (op as Json).responses as Json,
  })),
);

/** What the tests saw that the documents do not describe. */
const violations: string[] = [];
/** Which documented answers were seen: `GET /conversations 200`, `ack sendMessage`, `push typing`. */
export const seen = new Set<string>();

export function takeViolations(): string[] {
  return violations.splice(0);
}

const describe = (v: ValidateFunction) => ajv.errorsText(v.errors, { separator: '; ' }).slice(0, 500);

/** One REST response. Paths outside the API (health, documents, unknown routes) need only the error shape when they fail. */
export function checkResponse(method: string, url: string, status: number, body: unknown): void {
  const pathname = new URL(url, 'http://x').pathname;
  const op = operations.find((o) => o.method === method && o.pattern.test(pathname));
  if (!op) {
    if (status >= 400 && body !== undefined && !validator('openapi#/components/schemas/Error')(body)) {
      violations.push(`${method} ${pathname} ${status}: not the error shape: ${JSON.stringify(body).slice(0, 200)}`);
    }
    return;
  }
  const label = `${method} ${op.template} ${status}`;
  const response = op.responses[String(status)] as Json | undefined;
  if (!response) {
    violations.push(`${label}: status not in the OpenAPI document (${JSON.stringify(body).slice(0, 200)})`);
    return;
  }
  seen.add(label);
  if (!response.content) {
    if (body !== undefined) violations.push(`${label}: a body where the document says none`);
    return;
  }
  const v = validator(`openapi#/${pointer('paths', op.template, method.toLowerCase(), 'responses', String(status), 'content', 'application/json', 'schema')}`);
  if (!v(body)) violations.push(`${label}: ${describe(v)}: ${JSON.stringify(body).slice(0, 300)}`);
}

const messages = asyncapi.components.messages as Json;

/** One frame received on /ws; `requested` is the event a frame with this ack answered, when the client sent one. */
export function checkFrame(frame: Json, requested: string | undefined): void {
  let name: string;
  if (frame.event === 'ack') name = `${requested}Ack`;
  else if (frame.event === 'error') name = requested && messages[`${requested}Error`] ? `${requested}Error` : 'frameError';
  else name = frame.event;
  const message = messages[name] as Json | undefined;
  if (!message || message.payload.additionalProperties !== false) {
    violations.push(`/ws frame "${String(frame.event)}"${requested ? ` answering ${requested}` : ''}: not in the AsyncAPI document`);
    return;
  }
  seen.add(`frame ${name}`);
  const v = validator(`asyncapi#/${pointer('components', 'messages', name, 'payload')}`);
  if (!v(frame)) violations.push(`/ws frame ${name}: ${describe(v)}: ${JSON.stringify(frame).slice(0, 300)}`);
}
