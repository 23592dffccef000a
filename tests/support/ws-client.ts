import WebSocket from 'ws';
import { checkFrame } from './api-conformance.js';

export interface Frame {
  event: string;
  ack?: number | string;
  data?: any;
  error?: { code: string; message: string; details?: unknown };
}

/** A real WebSocket client that speaks the native protocol and records every frame. */
export class WsClient {
  readonly frames: Frame[] = [];
  private waiters: Array<{ match: (f: Frame) => boolean; resolve: (f: Frame) => void }> = [];
  private nextAck = 1_000_000;
  /** The event each pending ack was sent with, to check its answer against the protocol document. */
  private readonly requested = new Map<unknown, string>();
  closed: Promise<{ code: number; reason: string }>;

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (raw) => {
      const frame = JSON.parse(raw.toString()) as Frame;
      const requested = frame.ack === undefined ? undefined : this.requested.get(frame.ack);
      if (frame.ack !== undefined && (frame.event === 'ack' || frame.event === 'error')) this.requested.delete(frame.ack);
      checkFrame(frame, requested);
      this.frames.push(frame);
      this.waiters = this.waiters.filter((w) => (w.match(frame) ? (w.resolve(frame), false) : true));
    });
    this.closed = new Promise((resolve) => socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  static connect(url: string, token?: string, options: WebSocket.ClientOptions = {}): Promise<WsClient> {
    const socket = new WebSocket(token ? `${url}?token=${encodeURIComponent(token)}` : url, options);
    return new Promise((resolve, reject) => {
      socket.once('open', () => resolve(new WsClient(socket)));
      socket.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode })));
      socket.once('error', reject);
    });
  }

  /** Sends an event with an ack id and resolves with the one answer to it. */
  request(event: string, data?: unknown): Promise<Frame> {
    const ack = ++this.nextAck;
    const answer = this.waitFor((f) => f.ack === ack && (f.event === 'ack' || f.event === 'error'));
    this.requested.set(ack, event);
    this.socket.send(JSON.stringify({ event, data, ack }));
    return answer;
  }

  sendRaw(payload: string | Buffer): void {
    this.noteRequest(payload);
    this.socket.send(payload);
  }

  private noteRequest(payload: string | Buffer): void {
    try {
      const { event, ack } = JSON.parse(payload.toString()) as { event?: unknown; ack?: unknown };
      if (typeof event === 'string' && ack !== undefined) this.requested.set(ack, event);
    } catch {
      // not JSON: answered (if at all) by a frame error
    }
  }

  /** The first frame (already received or still to come) matching. */
  waitFor(match: (f: Frame) => boolean, timeoutMs = 5_000): Promise<Frame> {
    const seen = this.frames.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching frame within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({ match, resolve: (f) => (clearTimeout(timer), resolve(f)) });
    });
  }

  event(name: string, match: (data: any) => boolean = () => true, timeoutMs?: number): Promise<Frame> {
    return this.waitFor((f) => f.event === name && match(f.data), timeoutMs);
  }

  received(name: string): Frame[] {
    return this.frames.filter((f) => f.event === name);
  }

  close(): Promise<{ code: number; reason: string }> {
    this.socket.close(1000);
    return this.closed;
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
