import type { Actor } from '../../domain/user.js';
import type { Logger } from '../../application/ports/services.js';
import type { Telemetry } from '../../application/ports/telemetry.js';

/** The wire protocols a connection can speak; each encodes a pushed event its own way. */
export type WireProtocol = 'ws' | 'socketio';

/** Close codes the realtime endpoints use (see docs/PROTOCOL.md). */
export const CLOSE = {
  GOING_AWAY: 1001,
  INVALID_PAYLOAD: 1007,
  MESSAGE_TOO_BIG: 1009,
  /** The session or the account's access ended: logout, revocation, deactivation, deletion, a new password. */
  ACCESS_ENDED: 4001,
  /** The connection fell more than WS_MAX_BACKPRESSURE_BYTES behind on what it is sent. */
  SLOW_CONSUMER: 4008,
} as const;

export interface ConnectionInit {
  readonly actor: Actor;
  /** The session its token belongs to (null for an external identity provider's token). */
  readonly sessionId: string | null;
  readonly remoteAddress: string;
  readonly ratePerSecond: number;
  readonly rateBurst: number;
  readonly logger: Logger;
  readonly telemetry: Telemetry;
}

let nextConnectionId = 0;

/** Live pushes one connection may hold behind replays before it counts as too slow. */
const MAX_HELD_PUSHES = 10_000;

/**
 * One realtime connection, whatever carries it. Each transport subclasses it
 * with the three operations that touch its socket; everything else (who it
 * is, its rate limit, what it has in flight) lives here once.
 *
 * Kept small on purpose: a server holds tens of thousands of these.
 */
export abstract class Connection {
  readonly id = ++nextConnectionId;
  readonly actor: Actor;
  readonly sessionId: string | null;
  readonly remoteAddress: string;
  abstract readonly protocol: WireProtocol;
  /** Events answered but not yet settled. */
  inFlight = 0;
  /** Set once the connection is closing or closed: nothing more is sent. */
  closed = false;
  /** Live pushes held behind a replay being answered (see holdPushes); null when none is. */
  private held: Array<string | Buffer> | null = null;
  private holds = 0;
  // A token bucket inlined (rate per second, burst): one object fewer per connection.
  private tokens: number;
  private refilledAt: number;
  private readonly rate: number;
  private readonly burst: number;
  private readonly parentLogger: Logger;
  private childLogger: Logger | null = null;
  private readonly telemetry: Telemetry;

  constructor(init: ConnectionInit) {
    this.actor = init.actor;
    this.sessionId = init.sessionId;
    this.remoteAddress = init.remoteAddress;
    this.rate = init.ratePerSecond;
    this.burst = init.rateBurst;
    this.tokens = init.rateBurst;
    this.refilledAt = performance.now();
    this.parentLogger = init.logger;
    this.telemetry = init.telemetry;
  }

  /** Sends one text frame (already encoded for this connection's protocol). */
  protected abstract write(frame: string | Buffer): void;
  /** Bytes written but not yet taken by the peer. */
  abstract bufferedAmount(): number;
  /** Closes with a WebSocket close code (or its equivalent for the protocol). */
  protected abstract end(code: number, reason: string): void;

  /** Built on first use: a logger per idle connection would cost more than the connection. */
  get logger(): Logger {
    return (this.childLogger ??= this.parentLogger.child({ connId: this.id, userId: this.actor.id, protocol: this.protocol }));
  }

  /** One event's worth of the rate limit; false when the bucket is empty. A rate of 0 allows everything. */
  takeToken(now = performance.now()): boolean {
    if (this.rate <= 0) return true;
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.refilledAt) / 1000) * this.rate);
    this.refilledAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /**
   * Sends unless closed; a consumer more than `maxBuffered` bytes behind is
   * closed with 4008 instead of being silently skipped. Returns false when the
   * frame was not sent.
   */
  send(frame: string | Buffer, maxBuffered: number): boolean {
    if (this.closed) return false;
    this.write(frame);
    const buffered = this.bufferedAmount();
    if (buffered > maxBuffered) {
      this.logger.warn({ buffered }, 'slow consumer; closing');
      this.telemetry.slowConsumerClosed(this.protocol);
      this.close(CLOSE.SLOW_CONSUMER, 'Too slow to keep up');
    }
    return true;
  }

  /** A live push: sent now, or, while a replay is being answered, held behind it in order. */
  push(frame: string | Buffer, maxBuffered: number): void {
    if (this.held === null) {
      this.send(frame, maxBuffered);
    } else if (this.held.length < MAX_HELD_PUSHES) {
      this.held.push(frame);
    } else {
      this.telemetry.slowConsumerClosed(this.protocol);
      this.close(CLOSE.SLOW_CONSUMER, 'Too slow to keep up');
    }
  }

  /**
   * Live pushes wait from now until `releasePushes`: a replay read after this
   * call and sent before the release cannot be overtaken by a newer live
   * event (one it also holds arrives again after it, in order).
   */
  holdPushes(): void {
    this.holds += 1;
    this.held ??= [];
  }

  releasePushes(maxBuffered: number): void {
    if (this.holds === 0 || --this.holds > 0) return;
    const held = this.held ?? [];
    this.held = null;
    for (const frame of held) this.send(frame, maxBuffered);
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.end(code, reason);
  }
}
