import type { PushOutcome } from './push.js';

/** Records one client event's outcome (`ok` or the error code) and how long it took. */
export type EventRecorder = (code: string, seconds: number) => void;

/**
 * What the server counts for operators. Labels are bounded: events are the
 * names the caller binds recorders for (from its list of events, plus
 * `other`), routes are the router's patterns, codes are the protocol's stable
 * codes.
 */
export interface Telemetry {
  connectionOpened(transport: string, protocol: string): void;
  connectionClosed(transport: string, protocol: string): void;
  /**
   * The recorder of one client event, bound once per event name so that the
   * hot path records an answer without building labels.
   */
  eventRecorder(name: string): EventRecorder;
  /** One REST request answered, by route pattern, and how long it took. */
  httpRequest(route: string, method: string, status: number, seconds: number): void;
  messagesAcknowledged(count: number): void;
  /** One batch committed (or failed) by a write lane. */
  writeBatch(size: number, seconds: number, ok: boolean): void;
  /** A message delivered on this process, `seconds` after the server received it. */
  fanoutDelivered(seconds: number): void;
  fanoutListening(listening: boolean): void;
  fanoutOutage(): void;
  /** A fan-out notification dropped as malformed or foreign. */
  fanoutRejected(): void;
  /** A request, event or upgrade refused by a limit (which one). */
  limited(limit: string): void;
  slowConsumerClosed(protocol: string): void;
  upgradeRefused(reason: string): void;
  /** One webhook attempt's outcome: `delivered` (2xx), `failed` (to be retried) or `dead` (given up). */
  webhookDelivery(outcome: WebhookOutcome): void;
  /** One Web Push's outcome (PUSH_OUTCOMES). */
  pushed(outcome: PushOutcome): void;
}

export const WEBHOOK_OUTCOMES = ['delivered', 'failed', 'dead'] as const;
export type WebhookOutcome = (typeof WEBHOOK_OUTCOMES)[number];

const noop = () => undefined;

/** For tests and tools that count nothing. */
export const NO_TELEMETRY: Telemetry = {
  connectionOpened: noop,
  connectionClosed: noop,
  eventRecorder: () => noop,
  httpRequest: noop,
  messagesAcknowledged: noop,
  writeBatch: noop,
  fanoutDelivered: noop,
  fanoutListening: noop,
  fanoutOutage: noop,
  fanoutRejected: noop,
  limited: noop,
  slowConsumerClosed: noop,
  upgradeRefused: noop,
  webhookDelivery: noop,
  pushed: noop,
};
