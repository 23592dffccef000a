/**
 * One chat client of the reconnect storm, written to the documented policy
 * (docs/PROTOCOL.md, "Reconnecting") on a `ws` socket, so that it can read
 * what a browser cannot: the status and Retry-After of a refused upgrade.
 *
 * - Reconnects after any close, with full-jitter exponential back-off (the
 *   client module's own `backoffDelay`); after a 503 it waits at least the
 *   Retry-After the server gave. Any other answer than 101 or 503 is counted
 *   as an error (and retried, so one odd answer does not end the run).
 * - After every reconnect it catches up its conversation with
 *   `joinConversation {since: cursor}`, page after page while `has_more`.
 * - Drops ids it has delivered already; counts those repeats (raw duplicates)
 *   and any message delivered twice under two ids (same sender and
 *   `client_id`: an idempotency failure, which dedupe by id cannot hide).
 * - Resends what was not acknowledged with its original `client_id`.
 */
import net from 'node:net';
import WebSocket from 'ws';
import { backoffDelay } from '../../client/reconnect-policy.js';
import { now } from './stats.js';
import type { Ledger, StormCounters } from './storm-ledger.js';

export interface StormIdentity {
  readonly userId: number;
  readonly token: string;
  readonly conversationId: number;
}

export interface StormClientEnv {
  readonly url: string;
  readonly localAddress?: string;
  readonly counters: StormCounters;
  readonly ledger: Ledger;
  /** Filler after the client_id, so messages have a realistic size. */
  readonly padding: string;
}

interface WireMessage {
  id: number;
  sender_id: number;
  client_id: string | null;
}
interface Frame {
  event: string;
  ack?: number;
  data?: unknown;
  error?: { code: string };
}
interface Pending {
  inFlight: boolean;
  tries: number;
}

/** Transient send failures worth a retry with the same client_id (as the client module does). */
const RETRIED = new Set(['OVERLOADED', 'SERVICE_UNAVAILABLE', 'RATE_LIMITED', 'INTERNAL']);
const HANDSHAKE_TIMEOUT_MS = 15_000;
const ACK_TIMEOUT_MS = 15_000;
const noop = () => undefined;

export class StormClient {
  private ws: WebSocket | null = null;
  /**
   * The current connection's socket. Whatever this client closes itself (an
   * upgrade answered 503, the end of the run) it closes with a reset: an
   * orderly close would leave the port in TIME_WAIT on this side for a
   * minute, and with 20,000 clients on one machine (which real clients are
   * not) those ports fill each source address until every bind() scans for
   * a free one, synchronously, in the client's event loop.
   */
  private tcp: net.Socket | null = null;
  private opened = false;
  private everOpened = false;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  /** Every message up to this id has been delivered. */
  private cursor = 0;
  private syncing = false;
  private syncProgress = 0;
  private pushedWhileSyncing = 0;
  private readonly seen = new Set<number>();
  private readonly byClientId = new Map<string, number>();
  private readonly pending = new Map<string, Pending>();
  private readonly answers = new Map<number, (frame: Frame) => void>();
  private askSeq = 0;
  private sendSeq = 0;
  private firstOpen: (() => void) | null = null;
  /** When its last open connection closed (0: never). */
  droppedAt = 0;
  /** When it was last connected and caught up after a drop (or first connected). */
  backAt = 0;
  /** The other participant of its conversation, who receives what it sends. */
  partner: StormClient | null = null;

  constructor(
    readonly me: StormIdentity,
    private readonly env: StormClientEnv,
  ) {}

  get isOpen(): boolean {
    return this.opened;
  }

  /** Connected, and no catch-up outstanding. */
  get isBack(): boolean {
    return this.opened && !this.syncing;
  }

  /** Connected and caught up since its last drop. */
  get recovered(): boolean {
    return this.isBack && this.backAt >= this.droppedAt;
  }

  get pendingSends(): number {
    return this.pending.size;
  }

  /** Dials, and resolves once a first connection has opened (retrying by the policy meanwhile). */
  start(): Promise<void> {
    return new Promise((resolve) => {
      this.firstOpen = resolve;
      this.dial();
    });
  }

  stop(): void {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.tcp?.resetAndDestroy();
    this.ws?.terminate();
  }

  /** A new message, sent now if connected; false when offline (nothing is queued). */
  sendNew(): boolean {
    if (!this.opened) {
      this.env.counters.skippedOffline += 1;
      return false;
    }
    const clientId = `${this.me.userId}.${++this.sendSeq}`;
    this.pending.set(clientId, { inFlight: false, tries: 0 });
    this.env.counters.sent += 1;
    this.transmit(clientId);
    return true;
  }

  private dial(): void {
    if (this.stopped) return;
    const c = this.env.counters;
    c.attempts += 1;
    const at = now();
    let connectedAt = NaN;
    this.env.ledger.attempts.push(at);
    const ws = new WebSocket(`${this.env.url}?token=${this.me.token}`, {
      perMessageDeflate: false,
      handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
      ...(this.env.localAddress ? { localAddress: this.env.localAddress } : {}),
      // As ws connects, and noting when TCP is connected: a slow accept and a slow answer are different problems.
      createConnection: ((options: net.NetConnectOpts) => {
        const socket = net.connect({ ...options, path: undefined } as net.NetConnectOpts);
        socket.once('connect', () => (connectedAt = now()));
        this.tcp = socket;
        return socket;
      }) as typeof net.createConnection,
    });
    this.ws = ws;
    this.opened = false;
    let settled = false;
    const answered = (status: number) => {
      const t = now();
      this.env.ledger.handshakes.push({ at, tcpMs: connectedAt - at, answerMs: status ? t - connectedAt : NaN, status });
    };
    const failed = (floorMs: number, status = 0) => {
      if (settled) return;
      answered(status);
      settled = true;
      ws.removeAllListeners();
      ws.on('error', noop);
      // Closed with a reset, as every close this client starts: see `tcp`.
      this.tcp?.resetAndDestroy();
      ws.terminate();
      if (this.ws === ws) this.ws = null;
      this.retry(floorMs);
    };
    ws.on('unexpected-response', (_req, res) => {
      const status = res.statusCode ?? 0;
      let floorMs = 0;
      if (status === 503) {
        c.status503 += 1;
        this.env.ledger.refusals.push(now());
        floorMs = Math.max(0, Number(res.headers['retry-after'] ?? 0)) * 1000;
      } else {
        c.otherStatus[status] = (c.otherStatus[status] ?? 0) + 1;
      }
      res.resume();
      failed(floorMs, status);
    });
    ws.on('error', (error: NodeJS.ErrnoException) => {
      if (settled) return; // after open, a close follows
      const cause = error.code ?? (/timed out/i.test(error.message) ? 'TIMEOUT' : error.message.slice(0, 40));
      c.networkErrors[cause] = (c.networkErrors[cause] ?? 0) + 1;
      failed(0);
    });
    ws.on('open', () => {
      answered(101);
      settled = true;
      this.onOpen(ws);
    });
    ws.on('message', (raw) => this.onFrame(ws, raw.toString()));
    ws.on('close', (code) => {
      if (!settled) {
        c.networkErrors.CLOSED_BEFORE_OPEN = (c.networkErrors.CLOSED_BEFORE_OPEN ?? 0) + 1;
        failed(0);
        return;
      }
      if (this.ws === ws) this.onDrop(code);
    });
  }

  private retry(floorMs: number): void {
    if (this.stopped) return;
    const delay = Math.max(floorMs, backoffDelay(this.attempt));
    this.attempt += 1;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.dial();
    }, delay);
  }

  private onOpen(ws: WebSocket): void {
    this.opened = true;
    this.attempt = 0;
    this.env.counters.opens += 1;
    if (!this.everOpened) {
      // The conversation is empty until every client is connected: nothing to catch up on.
      this.everOpened = true;
      this.backAt = now();
      this.firstOpen?.();
      this.firstOpen = null;
    } else {
      this.env.ledger.reopens.push(now());
      this.catchUp(ws);
    }
    for (const [clientId, p] of this.pending) if (!p.inFlight) this.transmit(clientId);
  }

  private onDrop(code: number): void {
    const c = this.env.counters;
    c.closes[code] = (c.closes[code] ?? 0) + 1;
    this.ws = null;
    this.opened = false;
    this.droppedAt = now();
    this.answers.clear();
    for (const p of this.pending.values()) p.inFlight = false;
    if (this.syncing) {
      // Pages already read stay read; the gap above them stays open for the next catch-up.
      this.cursor = Math.max(this.cursor, this.syncProgress);
      this.syncing = false;
    }
    this.retry(0);
  }

  private ask(ws: WebSocket, event: string, data: unknown, onAnswer: (frame: Frame) => void): void {
    const ack = ++this.askSeq;
    this.answers.set(ack, onAnswer);
    ws.send(JSON.stringify({ event, ack, data }));
  }

  private catchUp(ws: WebSocket): void {
    const c = this.env.counters;
    c.catchUps += 1;
    this.syncing = true;
    this.pushedWhileSyncing = 0;
    this.syncProgress = this.cursor;
    const page = (since: number) =>
      this.ask(ws, 'joinConversation', { conversation_id: this.me.conversationId, since }, (frame) => {
        if (frame.event !== 'ack') {
          const code = frame.error?.code ?? 'UNKNOWN';
          c.catchUpErrors[code] = (c.catchUpErrors[code] ?? 0) + 1;
          // Pages already read stay read; the gap above them stays open (pushes keep proving
          // nothing about it) until a later catch-up reads through it.
          this.cursor = Math.max(this.cursor, this.syncProgress);
          setTimeout(() => this.ws === ws && this.opened && this.catchUp(ws), backoffDelay(1));
          return;
        }
        c.catchUpPages += 1;
        const { messages, has_more } = frame.data as { messages: WireMessage[]; has_more: boolean };
        for (const m of messages) this.deliver(m, false);
        const last = messages.at(-1);
        if (last) this.syncProgress = last.id;
        if (has_more && last) return page(last.id);
        this.cursor = Math.max(this.cursor, this.syncProgress, this.pushedWhileSyncing);
        this.syncing = false;
        this.backAt = now();
      });
    page(this.cursor);
  }

  private onFrame(ws: WebSocket, text: string): void {
    const frame = JSON.parse(text) as Frame;
    if (frame.event === 'receiveMessage') return this.deliver(frame.data as WireMessage, true);
    if (frame.ack === undefined) return;
    const answer = this.answers.get(frame.ack);
    this.answers.delete(frame.ack);
    if (answer && this.ws === ws) answer(frame);
  }

  private deliver(m: WireMessage, pushed: boolean): void {
    if (pushed) {
      // Pushes come in id order; during a catch-up they prove nothing about the gap below.
      if (this.syncing) this.pushedWhileSyncing = Math.max(this.pushedWhileSyncing, m.id);
      else this.cursor = Math.max(this.cursor, m.id);
    }
    if (m.sender_id === this.me.userId && m.client_id) this.settle(m.client_id, m.id);
    if (this.seen.has(m.id)) {
      this.env.counters.rawDuplicates += 1;
      return;
    }
    this.seen.add(m.id);
    if (m.sender_id === this.me.userId) return;
    if (m.client_id) {
      const earlier = this.byClientId.get(m.client_id);
      if (earlier !== undefined && earlier !== m.id) this.env.counters.appDuplicates += 1;
      else this.byClientId.set(m.client_id, m.id);
    }
    this.env.ledger.received(m.id);
  }

  private transmit(clientId: string): void {
    const ws = this.ws;
    const p = this.pending.get(clientId);
    if (!ws || !this.opened || !p) return;
    const c = this.env.counters;
    p.inFlight = true;
    p.tries += 1;
    if (p.tries > 1) c.resent += 1;
    const timeout = setTimeout(() => {
      // No answer on a socket that still looks open: try again (the client_id makes it safe).
      if (this.pending.get(clientId) === p && p.inFlight && this.ws === ws) {
        c.sendErrors.TIMEOUT = (c.sendErrors.TIMEOUT ?? 0) + 1;
        this.transmit(clientId);
      }
    }, ACK_TIMEOUT_MS);
    this.ask(ws, 'sendMessage', { conversation_id: this.me.conversationId, content: `${clientId} ${this.env.padding}`, client_id: clientId }, (frame) => {
      clearTimeout(timeout);
      if (frame.event === 'ack') return this.settle(clientId, (frame.data as WireMessage).id);
      const code = frame.error?.code ?? 'UNKNOWN';
      c.sendErrors[code] = (c.sendErrors[code] ?? 0) + 1;
      p.inFlight = false;
      if (RETRIED.has(code)) {
        setTimeout(() => this.pending.get(clientId) === p && !p.inFlight && this.transmit(clientId), 1000);
      } else {
        this.pending.delete(clientId);
        c.failedSends += 1;
      }
    });
  }

  /** An ack, or the message itself coming back (push or catch-up page), settles a send. */
  private settle(clientId: string, id: number): void {
    if (!this.pending.delete(clientId)) return;
    this.env.counters.acked += 1;
    this.env.ledger.acked(id, this.partner);
  }
}
