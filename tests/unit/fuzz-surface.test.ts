import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { UseCases } from '../../src/application/use-cases.js';
import { CHAT_EVENTS } from '../../src/adapters/gateway/chat-events.js';
import { routeTable } from '../../src/adapters/gateway/route-table.js';
import type { ManageWebhooks } from '../../src/application/webhooks/manage-webhooks.js';
import type { People } from '../../src/application/people/people.js';
import { CLIENT_EVENTS, FIELDS, paramKind, ROUTES, unkindedFields } from '../../fuzz/lib/api-surface.js';

const table = routeTable({} as UseCases, {} as ManageWebhooks, {} as People);
const keysOf = (schema: z.ZodType | undefined) => (schema instanceof z.ZodObject ? Object.keys(schema.shape).sort() : []);

describe('what the fuzz aims at', () => {
  it('is every route of the routes table, with its auth and body fields, and the two health checks', () => {
    const fuzzed = new Map(ROUTES.map((r) => [`${r.method} ${r.pattern}`, r]));
    expect([...fuzzed.keys()].sort()).toEqual([...table.map((r) => `${r.method} ${r.pattern}`), 'GET /healthz', 'GET /readyz'].sort());
    for (const route of table) {
      const spec = fuzzed.get(`${route.method} ${route.pattern}`)!;
      expect({ route: spec.pattern, auth: spec.auth, body: Object.keys(spec.body ?? {}).sort(), query: [...spec.query].sort() }).toEqual({
        route: route.pattern,
        auth: route.auth,
        body: keysOf(route.body),
        query: keysOf(route.query),
      });
    }
  });

  it('is every client event of CHAT_EVENTS, with the fields of its input', () => {
    expect(CLIENT_EVENTS).toEqual(Object.keys(CHAT_EVENTS));
    for (const event of CLIENT_EVENTS) expect(Object.keys(FIELDS[event]).sort()).toEqual(keysOf(CHAT_EVENTS[event].input));
  });

  it('fills every body and event field with a kind of value chosen for it, and every path parameter with an id of the right thing', () => {
    expect(unkindedFields()).toEqual([]);
    const params = ROUTES.flatMap((r) => r.pattern.split('/').flatMap((s, i, all) => (s.startsWith(':') ? [`${all[i - 1]}/${s}`] : [])));
    expect(params.length).toBeGreaterThan(5);
    expect(params.filter((p) => paramKind(p.split('/')[0]!) === 'other')).toEqual([]);
  });
});
