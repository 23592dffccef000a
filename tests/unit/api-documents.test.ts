import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { pushEventSchemas } from '../../src/application/wire-schemas.js';
import type { UseCases } from '../../src/application/use-cases.js';
import { CHAT_EVENTS } from '../../src/adapters/gateway/chat-events.js';
import { routeTable } from '../../src/adapters/gateway/route-table.js';
import type { ManageWebhooks } from '../../src/application/webhooks/manage-webhooks.js';
import type { People } from '../../src/application/people/people.js';
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

  // Redocly's recommended rules, the ones this document once broke, checked here so the test needs no
  // network and no 15 MB linter (by hand: `npx @redocly/cli lint docs/openapi.json`).
  describe('the REST document meets the linter’s recommended rules', () => {
    const openapi = JSON.parse(generated['openapi.json']!);
    const operations = Object.entries<Record<string, any>>(openapi.paths).flatMap(([path, methods]) =>
      Object.entries<any>(methods).map(([method, op]) => ({ name: `${method.toUpperCase()} ${path}`, op })),
    );
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));

    it('names a server and the license of package.json', () => {
      expect(openapi.servers).toEqual([expect.objectContaining({ url: expect.any(String) })]);
      expect(openapi.info.license).toEqual({ name: pkg.license, identifier: pkg.license });
    });

    it('states the security of every operation: the bearer token where the route needs it, none (`[]`) on the public ones', () => {
      const auth = new Map(
        routeTable({} as UseCases, {} as ManageWebhooks, {} as People).map((r) => [`${r.method} ${r.pattern.replace(/:(\w+)/g, '{$1}')}`, r.auth]),
      );
      expect(operations.length).toBe(auth.size + 2);
      for (const { name, op } of operations) {
        expect({ name, security: op.security }).toEqual({ name, security: auth.get(name) ? [{ bearer: [] }] : [] });
      }
      expect(operations.filter(({ op }) => op.security.length === 0).map(({ name }) => name)).toEqual(
        expect.arrayContaining(['POST /auth/register', 'POST /auth/login', 'GET /healthz', 'GET /readyz']),
      );
    });

    it('has no unused component schema and no repeated operationId', () => {
      const text = JSON.stringify({ ...openapi, components: { ...openapi.components, schemas: {} } });
      const referenced = new Set<string>();
      const visit = (json: string) => {
        for (const [, id] of json.matchAll(/"\$ref":"#\/components\/schemas\/([^"/]+)/g)) {
          if (referenced.has(id!)) continue;
          referenced.add(id!);
          visit(JSON.stringify(openapi.components.schemas[id!] ?? {}));
        }
      };
      visit(text);
      expect(Object.keys(openapi.components.schemas).filter((id) => !referenced.has(id))).toEqual([]);
      const ids = operations.map(({ op }) => op.operationId);
      expect(new Set(ids).size).toBe(ids.length);
    });
  });

  it('docs/API.md has a section for each route of the routes table, and no other', () => {
    const headings = [...readFileSync(new URL('../../docs/API.md', import.meta.url), 'utf8').matchAll(/^### `([A-Z]+) ([^`?]+)/gm)].map(
      (m) => `${m[1]} ${m[2]}`,
    );
    expect(headings.sort()).toEqual(
      routeTable({} as UseCases, {} as ManageWebhooks, {} as People)
        .map((r) => `${r.method} ${r.pattern}`)
        .sort(),
    );
  });
});
