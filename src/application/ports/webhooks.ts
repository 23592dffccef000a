import type { StreamEventType } from './event-stream.js';

/** Where events are delivered: the one WEBHOOK_URL configures, or one staff created. */
export interface WebhookEndpoint {
  readonly id: number;
  readonly url: string;
  /** `whsec_<base64>`: the key is the decoded base64 part. */
  readonly secret: string;
  readonly eventTypes: readonly StreamEventType[];
  readonly description: string;
  /** Whether it is the endpoint of WEBHOOK_URL (kept in step with the configuration). */
  readonly configured: boolean;
  /** The last stream id acknowledged (or moved past): delivery resumes after it. */
  readonly cursor: number;
  readonly createdAt: Date;
}

export type DeliveryStatus = 'retrying' | 'dead' | 'recovered' | 'replayed';
export const DELIVERY_STATUSES: readonly DeliveryStatus[] = ['retrying', 'dead', 'recovered', 'replayed'];

/** One event that failed at least once at one endpoint. */
export interface WebhookDelivery {
  readonly id: number;
  readonly endpointId: number;
  readonly webhookId: string;
  readonly eventId: number;
  readonly eventType: StreamEventType;
  readonly status: DeliveryStatus;
  readonly attempts: number;
  /** The HTTP status of the last attempt, null when none came (timeout, refused). */
  readonly responseStatus: number | null;
  /** What went wrong last: the failure or the start of the response body. */
  readonly error: string | null;
  readonly firstAttemptAt: Date;
  readonly lastAttemptAt: Date;
}

export interface NewEndpoint {
  readonly url: string;
  readonly secret: string;
  readonly eventTypes: readonly StreamEventType[];
  readonly description: string;
}

/** A failed attempt, as recorded. */
export interface FailedAttempt {
  readonly webhookId: string;
  readonly eventId: number;
  readonly eventType: StreamEventType;
  readonly attempts: number;
  readonly responseStatus: number | null;
  readonly error: string;
  readonly firstAttemptAt: Date;
  readonly at: Date;
}

/** The endpoints, their cursors and their troubled deliveries. */
export interface WebhookRepository {
  /** Creates an endpoint starting at `cursor`, unless `max` endpoints exist already (null then). */
  create(endpoint: NewEndpoint, cursor: number, max: number): Promise<WebhookEndpoint | null>;
  /** Makes the configured endpoint match (url, secret; every type), creating it at `cursor` if missing; null removes it. */
  syncConfigured(endpoint: Omit<NewEndpoint, 'description'> | null, cursor: () => Promise<number>): Promise<void>;
  list(): Promise<WebhookEndpoint[]>;
  get(id: number): Promise<WebhookEndpoint | null>;
  /** False when there was none (the configured one cannot be deleted: it returns false too). */
  remove(id: number): Promise<boolean>;
  /** Moves the cursor from `from` to `to`; false when it was not at `from` any more (a replay moved it, or the endpoint is gone). */
  advance(id: number, from: number, to: number): Promise<boolean>;
  /** Moves the cursor back to `since` (never forward) and marks dead deliveries after it replayed; false when there is no such endpoint. */
  replay(id: number, since: number): Promise<boolean>;
  recordFailure(endpointId: number, attempt: FailedAttempt, status: 'retrying' | 'dead'): Promise<void>;
  /** A delivery that had failed went through. */
  recordRecovery(endpointId: number, webhookId: string, attempts: number, at: Date): Promise<void>;
  deliveries(endpointId: number, page: { readonly status?: DeliveryStatus; readonly before?: number; readonly limit: number }): Promise<WebhookDelivery[]>;
}

/** The request a webhook is, before signing. */
export interface WebhookMessage {
  /** `webhook-id`: stable for one event at one endpoint across retries. */
  readonly id: string;
  readonly type: StreamEventType;
  readonly timestamp: Date;
  readonly data: Record<string, unknown>;
}

export type SendOutcome = { readonly ok: true; readonly status: number } | { readonly ok: false; readonly status: number | null; readonly error: string };

/** Signs and sends one webhook (Standard Webhooks); never throws for network trouble. */
export interface WebhookSender {
  send(endpoint: Pick<WebhookEndpoint, 'url' | 'secret'>, message: WebhookMessage): Promise<SendOutcome>;
}

/** Makes and checks endpoint secrets and URLs given at input time. */
export interface WebhookPolicy {
  newSecret(): string;
  /** Why a secret is not acceptable, or null. */
  secretProblem(secret: string): string | null;
  /** Why a URL may not be an endpoint, or null. */
  urlProblem(url: string): string | null;
}

/**
 * Exactly one process of the cluster holds it at a time; another one takes
 * over when the holder dies.
 */
export interface Leadership {
  /** Calls `lead` once this process holds it; the signal aborts when it is lost or `close` is called. */
  run(lead: (lost: AbortSignal) => Promise<void>): void;
  close(): Promise<void>;
}
