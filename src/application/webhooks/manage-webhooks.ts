import { z } from 'zod';
import { fail, ok, type Result } from '../../domain/result.js';
import type { Actor } from '../../domain/user.js';
import { STREAM_EVENT_TYPES, type EventStream, type StreamEventType } from '../ports/event-stream.js';
import { DELIVERY_STATUSES, type WebhookDelivery, type WebhookEndpoint, type WebhookPolicy, type WebhookRepository } from '../ports/webhooks.js';

export const createWebhookSchema = z.strictObject({
  url: z.string().max(2048).describe('https URL the events are POSTed to'),
  event_types: z
    .array(z.enum(STREAM_EVENT_TYPES as [StreamEventType, ...StreamEventType[]]))
    .min(1)
    .max(STREAM_EVENT_TYPES.length)
    .refine((types) => new Set(types).size === types.length, 'must not repeat a type')
    .optional()
    .describe('Default: every type'),
  description: z.string().max(500).optional(),
  secret: z.string().max(200).optional().describe('`whsec_` + base64 of 24-64 random bytes; generated when omitted'),
});
export type CreateWebhookInput = z.infer<typeof createWebhookSchema>;

export const replayWebhookSchema = z.strictObject({
  since: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).describe('A stream cursor: events after it are delivered again'),
});

export const deliveriesQuerySchema = z.strictObject({
  status: z.enum(DELIVERY_STATUSES as [string, ...string[]]).optional(),
  before: z.coerce.number().int().min(1).optional().describe('Only deliveries with a smaller id (the previous page’s `next_before`)'),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

export interface WebhookLimits {
  readonly maxEndpoints: number;
}

const staffOnly = <T>(): Result<T> => fail('FORBIDDEN', 'Only staff may manage webhooks');
const notFound = <T>(id: number): Result<T> => fail('WEBHOOK_NOT_FOUND', `No webhook endpoint ${id}`);

/**
 * What staff do with webhook endpoints: six thin operations over one
 * repository, kept in one class because they share every rule (staff only,
 * the endpoint must exist).
 */
export class ManageWebhooks {
  constructor(
    private readonly endpoints: WebhookRepository,
    private readonly stream: EventStream,
    private readonly policy: WebhookPolicy,
    private readonly limits: WebhookLimits,
  ) {}

  /** A new endpoint receives events from now on (the stream's horizon). */
  async create(actor: Actor, input: CreateWebhookInput): Promise<Result<WebhookEndpoint>> {
    if (!actor.isStaff) return staffOnly();
    const urlProblem = this.policy.urlProblem(input.url);
    if (urlProblem) return fail('VALIDATION_FAILED', `url: ${urlProblem}`, [{ path: 'url', message: urlProblem }]);
    const secret = input.secret ?? this.policy.newSecret();
    const secretProblem = this.policy.secretProblem(secret);
    if (secretProblem) return fail('VALIDATION_FAILED', `secret: ${secretProblem}`, [{ path: 'secret', message: secretProblem }]);
    const created = await this.endpoints.create(
      { url: input.url, secret, eventTypes: input.event_types ?? STREAM_EVENT_TYPES, description: input.description ?? '' },
      await this.stream.horizon(),
      this.limits.maxEndpoints,
    );
    if (!created) return fail('WEBHOOK_LIMIT_REACHED', `At most ${this.limits.maxEndpoints} webhook endpoints may exist`);
    return ok(created);
  }

  async list(actor: Actor): Promise<Result<WebhookEndpoint[]>> {
    return actor.isStaff ? ok(await this.endpoints.list()) : staffOnly();
  }

  async get(actor: Actor, id: number): Promise<Result<WebhookEndpoint>> {
    if (!actor.isStaff) return staffOnly();
    const found = await this.endpoints.get(id);
    return found ? ok(found) : notFound(id);
  }

  async remove(actor: Actor, id: number): Promise<Result<{ id: number }>> {
    if (!actor.isStaff) return staffOnly();
    const found = await this.endpoints.get(id);
    if (!found) return notFound(id);
    if (found.configured) return fail('FORBIDDEN', 'The endpoint of WEBHOOK_URL is removed by unsetting WEBHOOK_URL');
    return (await this.endpoints.remove(id)) ? ok({ id }) : notFound(id);
  }

  async deliveries(actor: Actor, id: number, query: z.infer<typeof deliveriesQuerySchema>): Promise<Result<WebhookDelivery[]>> {
    if (!actor.isStaff) return staffOnly();
    if (!(await this.endpoints.get(id))) return notFound(id);
    const status = query.status as WebhookDelivery['status'] | undefined;
    return ok(await this.endpoints.deliveries(id, { limit: query.limit, ...(status ? { status } : {}), ...(query.before ? { before: query.before } : {}) }));
  }

  /** Delivers again every event after `since` (dead-lettered ones included). */
  async replay(actor: Actor, id: number, since: number): Promise<Result<WebhookEndpoint>> {
    if (!actor.isStaff) return staffOnly();
    if (!(await this.endpoints.replay(id, since))) return notFound(id);
    return this.get(actor, id);
  }
}
