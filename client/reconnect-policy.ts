/** How long to wait before reconnecting, and whether to reconnect at all. */
export interface BackoffOptions {
  /** Upper bound of the first delay, in ms. @default 500 */
  readonly baseMs?: number;
  /** No delay is ever longer, in ms. @default 30000 */
  readonly capMs?: number;
}

export const DEFAULT_BACKOFF: Required<BackoffOptions> = { baseMs: 500, capMs: 30_000 };

/**
 * Exponential back-off with full jitter: a delay drawn uniformly from
 * [0, min(cap, base * 2^attempt)). The jitter spreads the clients a restarted
 * server dropped all at once, instead of bringing them back in waves.
 * `attempt` counts the failures since the last open connection, from 0.
 */
export function backoffDelay(attempt: number, options: BackoffOptions = {}, random: () => number = Math.random): number {
  const { baseMs, capMs } = { ...DEFAULT_BACKOFF, ...options };
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 52));
  return Math.floor(random() * ceiling);
}

/** The server ended the session of this connection: a log-out, a revocation, a password change. */
export const SESSION_ENDED = 4001;

/**
 * Close codes after which reconnecting cannot help, because the server refused
 * this client rather than lost it: policy violation (1008), the end of the
 * session (4001) and the authentication closes some servers use (4003, 4401, 4403).
 */
export const FINAL_CLOSE_CODES: ReadonlySet<number> = new Set([1008, 4001, 4003, 4401, 4403]);

/**
 * Everything else is worth another try: 1001 (server going away), 1006 (the
 * connection dropped, or the upgrade was refused: the client then asks REST
 * whether its token still works, and refreshes it when it does not), 1011/1012/1013 (server trouble), 4008 (too
 * slow a consumer; nothing was skipped, catch-up fills the gap).
 */
export const shouldReconnect = (closeCode: number): boolean => !FINAL_CLOSE_CODES.has(closeCode);
