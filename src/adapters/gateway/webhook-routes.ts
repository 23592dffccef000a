import { z } from 'zod';
import type { Result } from '../../domain/result.js';
import { STREAM_EVENT_TYPES } from '../../application/ports/event-stream.js';
import { DELIVERY_STATUSES, type WebhookDelivery, type WebhookEndpoint } from '../../application/ports/webhooks.js';
import { createWebhookSchema, deliveriesQuerySchema, replayWebhookSchema, type ManageWebhooks } from '../../application/webhooks/manage-webhooks.js';
import { errorReply, type HttpReply } from './http.js';
import type { Route } from './rest-routes.js';

const endpointView = (e: WebhookEndpoint) => ({
  id: e.id,
  url: e.url,
  event_types: [...e.eventTypes],
  description: e.description,
  configured: e.configured,
  cursor: e.cursor,
  created_at: e.createdAt.toISOString(),
});

const deliveryView = (d: WebhookDelivery) => ({
  id: d.id,
  webhook_id: d.webhookId,
  event_id: d.eventId,
  event_type: d.eventType,
  status: d.status,
  attempts: d.attempts,
  response_status: d.responseStatus,
  error: d.error,
  first_attempt_at: d.firstAttemptAt.toISOString(),
  last_attempt_at: d.lastAttemptAt.toISOString(),
});

const eventType = z.enum(STREAM_EVENT_TYPES as [string, ...string[]]);
const endpointSchema = z.object({
  id: z.number().int(),
  url: z.string(),
  event_types: z.array(eventType),
  description: z.string(),
  configured: z.boolean().describe('The endpoint of WEBHOOK_URL'),
  cursor: z.number().int().describe('The last stream id delivered (or moved past)'),
  created_at: z.string(),
});
const createdSchema = endpointSchema.extend({ secret: z.string().describe('Shown once: keep it to verify signatures') });
const deliverySchema = z.object({
  id: z.number().int(),
  webhook_id: z.string(),
  event_id: z.number().int(),
  event_type: eventType,
  status: z.enum(DELIVERY_STATUSES as [string, ...string[]]),
  attempts: z.number().int(),
  response_status: z.number().int().nullable(),
  error: z.string().nullable(),
  first_attempt_at: z.string(),
  last_attempt_at: z.string(),
});
const deliveryPageSchema = z.object({ deliveries: z.array(deliverySchema), next_before: z.number().int().nullable() });

const reply = <T>(result: Result<T>, status: number, view: (value: T) => unknown): HttpReply =>
  result.ok ? { status, body: view(result.value) } : errorReply(result.error);

/** Staff's webhook endpoints (docs/WEBHOOKS.md). Everyone else gets 404, as for a route that does not exist. */
export function webhookRoutes(w: ManageWebhooks): Route[] {
  const routes: Array<Route<z.ZodType, z.ZodType>> = [
    {
      method: 'POST',
      pattern: '/admin/webhooks',
      auth: true,
      staff: true,
      summary: 'Staff: add a webhook endpoint (events from now on)',
      description: 'The URL must be https and reach a public address; the secret is returned only here.',
      body: createWebhookSchema,
      replies: { 201: createdSchema },
      refusals: ['WEBHOOK_LIMIT_REACHED'],
      handle: async (c, i) =>
        reply(await w.create(c.actor, i.body as z.infer<typeof createWebhookSchema>), 201, (e) => ({ ...endpointView(e), secret: e.secret })),
    },
    {
      method: 'GET',
      pattern: '/admin/webhooks',
      auth: true,
      staff: true,
      summary: 'Staff: the webhook endpoints',
      replies: { 200: z.object({ webhooks: z.array(endpointSchema) }) },
      handle: async (c) => reply(await w.list(c.actor), 200, (list) => ({ webhooks: list.map(endpointView) })),
    },
    {
      method: 'GET',
      pattern: '/admin/webhooks/:id',
      auth: true,
      staff: true,
      summary: 'Staff: one webhook endpoint',
      replies: { 200: endpointSchema },
      refusals: ['WEBHOOK_NOT_FOUND'],
      handle: async (c) => reply(await w.get(c.actor, c.param(0)), 200, endpointView),
    },
    {
      method: 'DELETE',
      pattern: '/admin/webhooks/:id',
      auth: true,
      staff: true,
      summary: 'Staff: remove a webhook endpoint (not the one of WEBHOOK_URL)',
      replies: { 200: z.object({ id: z.number().int() }) },
      refusals: ['WEBHOOK_NOT_FOUND'],
      handle: async (c) => reply(await w.remove(c.actor, c.param(0)), 200, (v) => v),
    },
    {
      method: 'GET',
      pattern: '/admin/webhooks/:id/deliveries',
      auth: true,
      staff: true,
      summary: 'Staff: the endpoint’s failed, dead-lettered, recovered and replayed deliveries, newest first',
      query: deliveriesQuerySchema,
      replies: { 200: deliveryPageSchema },
      refusals: ['WEBHOOK_NOT_FOUND'],
      handle: async (c, i) =>
        reply(await w.deliveries(c.actor, c.param(0), i.query as z.infer<typeof deliveriesQuerySchema>), 200, (list) => ({
          deliveries: list.map(deliveryView),
          next_before: list.length === (i.query as z.infer<typeof deliveriesQuerySchema>).limit ? (list.at(-1)?.id ?? null) : null,
        })),
    },
    {
      method: 'POST',
      pattern: '/admin/webhooks/:id/replay',
      auth: true,
      staff: true,
      summary: 'Staff: deliver again every event after a stream cursor (dead-lettered ones included)',
      body: replayWebhookSchema,
      replies: { 200: endpointSchema },
      refusals: ['WEBHOOK_NOT_FOUND'],
      handle: async (c, i) => reply(await w.replay(c.actor, c.param(0), (i.body as z.infer<typeof replayWebhookSchema>).since), 200, endpointView),
    },
  ];
  return routes as Route[];
}
