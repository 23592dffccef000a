import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { pushEventSchemas } from '../../src/application/wire-schemas.js';
import { CHAT_EVENTS } from '../../src/adapters/gateway/chat-events.js';
import { apiDocumentFiles } from '../../scripts/api-docs.js';

const generated = apiDocumentFiles();

describe('API documents', () => {
  it.each(Object.keys(generated))('docs/%s is what `npm run docs:api` generates from the code', (name) => {
    expect(readFileSync(new URL(`../../docs/${name}`, import.meta.url), 'utf8')).toBe(generated[name]);
  });

  it('every schema in both documents compiles with every reference resolved', () => {
    const openapi = JSON.parse(generated['openapi.json']!);
    const asyncapi = JSON.parse(generated['asyncapi.json']!);
    const ajv = new Ajv2020({ strict: false });
    ajv.addSchema(openapi, 'openapi');
    ajv.addSchema(asyncapi, 'asyncapi');
    let compiled = 0;
    for (const [path, methods] of Object.entries<Record<string, any>>(openapi.paths)) {
      for (const [method, op] of Object.entries<any>(methods)) {
        for (const status of Object.keys(op.responses)) {
          if (!op.responses[status].content) continue;
          const pointer = ['paths', path, method, 'responses', status, 'content', 'application/json', 'schema']
            .map((p) => p.replaceAll('~', '~0').replaceAll('/', '~1'))
            .join('/');
          ajv.compile({ $ref: `openapi#/${pointer}` });
          compiled++;
        }
      }
    }
    for (const name of Object.keys(asyncapi.components.messages)) {
      ajv.compile({ $ref: `asyncapi#/components/messages/${name}/payload` });
      compiled++;
    }
    expect(compiled).toBeGreaterThan(80);
  });

  it('the realtime document lists every client event with its answer and refusal, and every push', () => {
    const messages = Object.keys(JSON.parse(generated['asyncapi.json']!).components.messages);
    for (const event of Object.keys(CHAT_EVENTS)) expect(messages).toEqual(expect.arrayContaining([event, `${event}Ack`, `${event}Error`]));
    expect(messages).toEqual(expect.arrayContaining(Object.keys(pushEventSchemas)));
  });
});
