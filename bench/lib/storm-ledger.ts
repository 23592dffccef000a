import { now } from './stats.js';
import type { StormClient } from './storm-client.js';

/** What every client of one process adds to; read by the orchestrator as running totals. */
export class StormCounters {
  attempts = 0;
  opens = 0;
  status503 = 0;
  /** Upgrade answers other than 101 and 503, by status: errors. */
  otherStatus: Record<string, number> = {};
  /** Attempts that got no HTTP answer (refused, reset, timed out), by cause. */
  networkErrors: Record<string, number> = {};
  /** Open connections that closed, by close code. */
  closes: Record<string, number> = {};
  catchUps = 0;
  catchUpPages = 0;
  catchUpErrors: Record<string, number> = {};
  /** Ids received again (a catch-up page overlapping live pushes), dropped before the app layer. */
  rawDuplicates = 0;
  /** Messages that reached the app layer twice under different ids (same sender and client_id). */
  appDuplicates = 0;
  sent = 0;
  resent = 0;
  acked = 0;
  sendErrors: Record<string, number> = {};
  /** Sends given up (an error that retrying cannot help). */
  failedSends = 0;
  /** Sends not made because the client was offline at its turn. */
  skippedOffline = 0;
}

/** Per process: when each message was acknowledged to its sender and first received by the other participant. */
export class Ledger {
  readonly ackAt = new Map<number, number>();
  readonly receivedAt = new Map<number, number>();
  /** Who should receive each acknowledged message. */
  readonly receiverOf = new Map<number, StormClient>();
  /** When each connection attempt started, each was refused with 503, and each reconnect (not a first connection) opened. */
  readonly attempts: number[] = [];
  readonly refusals: number[] = [];
  readonly reopens: number[] = [];
  /** Every connection attempt: when it started, how long TCP took to connect and then the HTTP answer (NaN: none). */
  readonly handshakes: Handshake[] = [];

  acked(id: number, receiver: StormClient | null): void {
    if (this.ackAt.has(id)) return;
    this.ackAt.set(id, now());
    if (receiver) this.receiverOf.set(id, receiver);
  }

  received(id: number): void {
    if (!this.receivedAt.has(id)) this.receivedAt.set(id, now());
  }
}

export interface Handshake {
  readonly at: number;
  readonly tcpMs: number;
  readonly answerMs: number;
  /** 101, 503, another status, or 0 for no answer. */
  readonly status: number;
}
