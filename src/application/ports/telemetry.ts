/**
 * What the server counts for operators. Labels are bounded: events and
 * routes are the known names (anything else is `other`), codes are the
 * protocol's stable codes.
 */
export interface Telemetry {
  connectionOpened(transport: string, protocol: string): void;
  connectionClosed(transport: string, protocol: string): void;
  /** One client event answered: `code` is `ok` or the error code. */
  event(name: string, code: string): void;
  /** One REST request answered. */
  httpRequest(route: string, method: string, status: number): void;
  messagesAcknowledged(count: number): void;
  /** One batch committed (or failed) by a write lane. */
  writeBatch(size: number, seconds: number, ok: boolean): void;
  /** A message delivered on this process, `seconds` after the server received it. */
  fanoutDelivered(seconds: number): void;
  fanoutListening(listening: boolean): void;
  fanoutOutage(): void;
  /** A request, event or upgrade refused by a limit (which one). */
  limited(limit: string): void;
  slowConsumerClosed(protocol: string): void;
  upgradeRefused(reason: string): void;
}

const noop = () => undefined;

/** For tests and tools that count nothing. */
export const NO_TELEMETRY: Telemetry = {
  connectionOpened: noop,
  connectionClosed: noop,
  event: noop,
  httpRequest: noop,
  messagesAcknowledged: noop,
  writeBatch: noop,
  fanoutDelivered: noop,
  fanoutListening: noop,
  fanoutOutage: noop,
  limited: noop,
  slowConsumerClosed: noop,
  upgradeRefused: noop,
};
