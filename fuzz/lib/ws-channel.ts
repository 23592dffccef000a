import WebSocket from 'ws';
import { preview } from './json.js';
import { rawIfNeeded, showBytes, type Findings } from './findings.js';
import type { Prng } from './prng.js';
import { ackKey, expectationOf, WsFrameGenerator, type Expectation, type WsInput } from './ws-frames.js';
import type { FuzzTarget, FuzzUser, World } from './world.js';

export interface WsStats {
  frames: number;
  answersExpected: number;
  answered: number;
  unanswered: number;
  acklessErrors: number;
  closingFrames: number;
  closesAsDocumented: number;
  pushes: number;
  reconnects: number;
  bytesSent: number;
}

export interface ChannelContext {
  readonly target: FuzzTarget;
  readonly world: World;
  readonly findings: Findings;
  readonly prng: Prng;
  readonly log: (line: string) => void;
  /** How long an answer may take before it counts as missing. */
  readonly answerTimeoutMs: number;
}

const WINDOW = 32;
const CLOSE_TIMEOUT_MS = 5_000;

interface Pending {
  readonly input: WsInput;
  readonly expectation: Extract<Expectation, { kind: 'answer' }>;
  readonly sentAt: number;
}

export const showWs = (input: WsInput): string => `${input.binary ? '[binary] ' : ''}${showBytes(input.bytes)}`;
const rawWs = (input: WsInput): string | undefined => rawIfNeeded(input.bytes, showBytes(input.bytes));
const textOf = (input: WsInput): string => input.bytes.toString('utf8');

/** Opens a `/ws` connection for a user; rejects with the HTTP status when refused. */
export function openWs(url: string, token: string): Promise<WebSocket> {
  const socket = new WebSocket(`${url}?token=${encodeURIComponent(token)}`, {
    perMessageDeflate: false,
    maxPayload: 256 * 1024 * 1024,
    handshakeTimeout: 10_000,
  });
  return new Promise((resolve, reject) => {
    socket.once('open', () => resolve(socket));
    socket.once('unexpected-response', (_req, res) => {
      reject(new Error(`upgrade answered HTTP ${res.statusCode}`));
      socket.terminate();
    });
    socket.once('error', reject);
  });
}

/**
 * One long-lived `/ws` connection of the fuzz: sends frames, and checks that
 * each frame with a valid ack gets exactly one answer with it, that the
 * ack-less errors the protocol owes arrive (counted exactly per code), and
 * that no answer is INTERNAL.
 */
class FuzzConnection {
  socket: WebSocket | null = null;
  private readonly pending = new Map<string, Pending>();
  private waiters: Array<() => void> = [];
  private readonly recent: WsInput[] = [];
  private readonly recentAckless: WsInput[] = [];
  private expectedAckless = { INVALID_JSON: 0, INVALID_FRAME: 0 };
  private receivedAckless = { INVALID_JSON: 0, INVALID_FRAME: 0, other: 0 };
  private acklessMaybe = 0;
  private closedByUs = false;

  constructor(
    private readonly ctx: ChannelContext,
    private readonly user: FuzzUser,
    private readonly stats: WsStats,
    readonly name: string,
  ) {}

  async open(): Promise<void> {
    this.closedByUs = false;
    const socket = await openWs(this.ctx.world.wsUrl, this.user.token);
    this.socket = socket;
    this.expectedAckless = { INVALID_JSON: 0, INVALID_FRAME: 0 };
    this.receivedAckless = { INVALID_JSON: 0, INVALID_FRAME: 0, other: 0 };
    this.acklessMaybe = 0;
    socket.on('message', (raw: Buffer, isBinary: boolean) => this.onMessage(raw, isBinary));
    socket.on('error', () => undefined);
    socket.once('close', (code, reason) => this.onClose(socket, code, reason.toString()));
  }

  get outstanding(): number {
    return this.pending.size;
  }

  async send(input: WsInput, expectation: Expectation): Promise<void> {
    if (expectation.kind === 'answer') {
      // Two frames in flight with one ack could not be told apart: wait for the first.
      while (this.pending.size >= WINDOW || this.pending.has(expectation.key)) await this.changed();
    }
    if (!this.socket || this.socket.readyState !== WebSocket.OPEN) await this.reopen();
    const socket = this.socket!;
    if (expectation.kind === 'answer') this.pending.set(expectation.key, { input, expectation, sentAt: Date.now() });
    else if (expectation.kind === 'ackless-error') this.expectedAckless[expectation.code] += 1;
    else if (expectation.kind === 'ackless-maybe') {
      this.acklessMaybe += 1;
      remember(this.recentAckless, input, 20);
    }
    remember(this.recent, input, 5);
    this.stats.frames += 1;
    this.stats.bytesSent += input.bytes.length;
    if (expectation.kind === 'answer') this.stats.answersExpected += 1;
    if (socket.bufferedAmount > 1 << 20) await new Promise<void>((resolve) => socket.send(input.bytes, { binary: input.binary }, () => resolve()));
    else socket.send(input.bytes, { binary: input.binary });
  }

  /** Marks answers older than the timeout as missing, so the window moves on. */
  expire(now = Date.now()): void {
    for (const [key, p] of this.pending) {
      if (now - p.sentAt < this.ctx.answerTimeoutMs) continue;
      this.pending.delete(key);
      this.stats.unanswered += 1;
      this.ctx.findings.add(
        'ws',
        'unanswered',
        p.expectation.event,
        `/ws ${p.expectation.event} frame with an ack got no answer within ${this.ctx.answerTimeoutMs} ms`,
        {
          input: showWs(p.input),
          raw: rawWs(p.input),
          response: '(none)',
          tags: p.input.tags,
          replay: { kind: 'ws', token: this.user.token, frame: textOf(p.input) },
        },
      );
    }
    this.notify();
  }

  /**
   * Waits for every answer, then checks the ack-less error counts: a final
   * frame with an ack is answered only after the synchronous errors of every
   * earlier frame were written, so by then they must all be here.
   */
  async finish(): Promise<void> {
    const deadline = Date.now() + this.ctx.answerTimeoutMs + 1_000;
    while (this.pending.size > 0 && Date.now() < deadline) {
      this.expire();
      await Promise.race([this.changed(), sleep(250)]);
    }
    this.expire(Number.POSITIVE_INFINITY);
    if (!this.socket || this.socket.readyState !== WebSocket.OPEN) return;
    const barrier = Buffer.from(JSON.stringify({ event: 'typing', data: { conversation_id: 0 }, ack: 'barrier' }));
    const expectation = expectationOf({ bytes: barrier, binary: false, tags: [] }, this.ctx.target);
    await this.send({ bytes: barrier, binary: false, tags: ['barrier'] }, expectation);
    const until = Date.now() + this.ctx.answerTimeoutMs;
    while (this.pending.size > 0 && Date.now() < until) await Promise.race([this.changed(), sleep(250)]);
    this.expire(Number.POSITIVE_INFINITY);
    await sleep(200);
    for (const code of ['INVALID_JSON', 'INVALID_FRAME'] as const) {
      const want = this.expectedAckless[code];
      const got = this.receivedAckless[code];
      if (want !== got) {
        this.ctx.findings.add('ws', 'answer-count', code, `/ws: ${want} frames owed an ack-less ${code} error, ${got} arrived`, {
          input: `${this.name}: counts over one connection`,
          response: `expected ${want}, received ${got}`,
          tags: [],
        });
      }
    }
    if (this.receivedAckless.other > this.acklessMaybe) {
      this.ctx.findings.add('ws', 'answer-count', 'ackless-extra', '/ws: more ack-less errors than frames that could owe one', {
        input: `${this.name}: ${this.acklessMaybe} frames without ack`,
        response: `${this.receivedAckless.other} errors without ack`,
        tags: [],
      });
    }
  }

  close(): void {
    this.closedByUs = true;
    this.socket?.terminate();
  }

  private async reopen(): Promise<void> {
    this.stats.reconnects += 1;
    await this.open();
  }

  private changed(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private notify(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private onMessage(raw: Buffer, isBinary: boolean): void {
    let frame: { event?: unknown; ack?: unknown; data?: any; error?: { code?: unknown; message?: unknown } };
    try {
      frame = JSON.parse(raw.toString('utf8'));
    } catch {
      this.ctx.findings.add('ws', 'malformed-answer', 'not-json', '/ws: the server sent a frame that is not JSON', {
        input: this.recent.map(showWs).join('\n'),
        response: preview(raw.toString('utf8')),
        tags: [],
      });
      return;
    }
    if (isBinary) {
      this.ctx.findings.add('ws', 'malformed-answer', 'binary', '/ws: the server sent a binary frame', {
        input: this.recent.map(showWs).join('\n'),
        response: preview(raw.toString('utf8')),
        tags: [],
      });
    }
    if (frame.event !== 'ack' && frame.event !== 'error') {
      this.stats.pushes += 1;
      return;
    }
    if (frame.event === 'error' && (typeof frame.error?.code !== 'string' || typeof frame.error?.message !== 'string')) {
      this.ctx.findings.add('ws', 'malformed-answer', 'error-shape', '/ws: an error frame without error.code and error.message', {
        input: this.recent.map(showWs).join('\n'),
        response: preview(raw.toString('utf8')),
        tags: [],
      });
    }
    const code = frame.event === 'error' ? String(frame.error?.code) : null;
    if (!('ack' in frame)) {
      if (frame.event === 'ack') {
        this.ctx.findings.add('ws', 'malformed-answer', 'ack-without-ack', '/ws: an ack frame without an ack', {
          input: this.recent.map(showWs).join('\n'),
          response: preview(raw.toString('utf8')),
          tags: [],
        });
        return;
      }
      this.stats.acklessErrors += 1;
      if (code === 'INVALID_JSON' || code === 'INVALID_FRAME') this.receivedAckless[code] += 1;
      else this.receivedAckless.other += 1;
      if (code === 'INTERNAL' || code === 'SERVICE_UNAVAILABLE' || code === 'OVERLOADED') {
        // Without an ack the culprit is one of the recent ack-less frames; minimisation resends each with an ack.
        this.ctx.findings.add('ws', 'internal', `ackless|${code}`, `/ws: an error ${code} without ack (one of the frames shown caused it)`, {
          input: this.recentAckless.slice(-5).map(showWs).join('\n'),
          response: preview(raw.toString('utf8')),
          tags: this.recentAckless.slice(-5).flatMap((i) => i.tags),
          replay: { kind: 'ws-candidates', token: this.user.token, frames: this.recentAckless.map(textOf).reverse() },
        });
      }
      return;
    }
    const key = ackKey(frame.ack);
    const p = this.pending.get(key);
    if (!p) {
      this.ctx.findings.add('ws', 'duplicate-answer', code ?? 'ack', '/ws: an answer for an ack that was not waiting (a second answer, or a late one)', {
        input: `ack ${preview(JSON.stringify(frame.ack), 200)}; recent frames:\n${this.recent.map(showWs).join('\n')}`,
        response: preview(raw.toString('utf8')),
        tags: [],
      });
      return;
    }
    this.pending.delete(key);
    this.stats.answered += 1;
    this.notify();
    const e = p.expectation;
    if (code === 'INTERNAL' || code === 'SERVICE_UNAVAILABLE' || code === 'OVERLOADED') {
      this.ctx.findings.add('ws', 'internal', `${e.event}|${code}`, `/ws ${e.event}: answered ${code}`, {
        input: showWs(p.input),
        raw: rawWs(p.input),
        response: preview(raw.toString('utf8')),
        tags: p.input.tags,
        replay: { kind: 'ws', token: this.user.token, frame: textOf(p.input) },
      });
    }
    if (frame.event === 'ack' && e.sentContent !== undefined && frame.data?.content !== e.sentContent) {
      this.ctx.findings.add('ws', 'not-verbatim', e.event, `/ws ${e.event}: the stored content differs from the content sent`, {
        input: showWs(p.input),
        raw: rawWs(p.input),
        response: preview(JSON.stringify(frame.data?.content)),
        tags: p.input.tags,
      });
    }
  }

  private onClose(socket: WebSocket, code: number, reason: string): void {
    if (socket !== this.socket) return;
    this.socket = null;
    if (this.closedByUs) return;
    const lost = [...this.pending.values()];
    this.pending.clear();
    this.notify();
    this.ctx.findings.add('ws', 'unexpected-close', String(code), `/ws: the server closed a connection with ${code} after an ordinary frame`, {
      input: this.recent.map(showWs).join('\n'),
      response: `close ${code} ${preview(reason, 200)}; ${lost.length} answers lost with it`,
      tags: this.recent.flatMap((i) => i.tags),
    });
    this.stats.unanswered += lost.length;
  }
}

const remember = (list: WsInput[], input: WsInput, max: number) => {
  list.push(input);
  if (list.length > max) list.shift();
};

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A frame the protocol answers by closing the connection (too big, invalid
 * UTF-8) goes on a connection of its own, so the answers owed on the others
 * are not lost with it; the close code must be the documented one.
 */
export async function sendClosingFrame(
  ctx: ChannelContext,
  user: FuzzUser,
  input: WsInput,
  expectation: Extract<Expectation, { kind: 'close' }>,
): Promise<{ code: number | null }> {
  let socket: WebSocket;
  try {
    socket = await openWs(ctx.world.wsUrl, user.token);
  } catch (error) {
    ctx.findings.add('ws', 'unexpected-close', 'upgrade-refused', '/ws: an upgrade with a valid token was refused', {
      input: `GET /ws?token=<${user.username}>`,
      response: String(error),
      tags: [],
    });
    return { code: null };
  }
  const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
  socket.on('error', () => undefined);
  socket.on('message', () => undefined);
  socket.send(input.bytes, { binary: input.binary });
  const code = await Promise.race([closed, sleep(CLOSE_TIMEOUT_MS).then(() => null)]);
  if (code === null) socket.terminate();
  const shown = showWs(input);
  if (code !== expectation.code && (expectation.alternative === undefined || code !== expectation.alternative)) {
    ctx.findings.add(
      'ws',
      'close-code',
      `${expectation.why}|${expectation.code}|${code ?? 'open'}`,
      code === null
        ? `/ws: a ${expectation.why} frame (${input.bytes.length} bytes) left the connection open for ${CLOSE_TIMEOUT_MS} ms; documented: close ${expectation.code}`
        : `/ws: a ${expectation.why} frame closed the connection with ${code}; documented: ${expectation.code}`,
      { input: shown, raw: rawWs(input), response: code === null ? '(still open)' : `close ${code}`, tags: [...input.tags, `bytes:${input.bytes.length}`] },
    );
  }
  return { code };
}

/** `count` mutated frames over six connections of four users; returns what was sent and seen. */
export async function fuzzWs(ctx: ChannelContext, count: number): Promise<WsStats> {
  const stats: WsStats = {
    frames: 0,
    answersExpected: 0,
    answered: 0,
    unanswered: 0,
    acklessErrors: 0,
    closingFrames: 0,
    closesAsDocumented: 0,
    pushes: 0,
    reconnects: 0,
    bytesSent: 0,
  };
  const w = ctx.world;
  const users = [w.alice, w.alice, w.bob, w.bob, w.carol, w.mallory];
  const connections = users.map((u, i) => new FuzzConnection(ctx, u, stats, `ws#${i} (${u.username})`));
  const refused = (conn: FuzzConnection, error: unknown) =>
    ctx.findings.add('ws', 'unexpected-close', 'connect-refused', '/ws: a connection with a valid token could not be (re)opened', {
      input: `GET /ws?token=<token of ${conn.name}>`,
      response: String(error),
      tags: [],
    });
  const opened = await Promise.all(
    connections.map((c) =>
      c.open().then(
        () => true,
        (error: unknown) => (refused(c, error), false),
      ),
    ),
  );
  const expiry = setInterval(() => connections.forEach((c) => c.expire()), 500);
  let closingInFlight = 0;
  const closing: Array<Promise<void>> = [];
  try {
    await Promise.all(
      connections.map(async (conn, i) => {
        if (!opened[i]) return;
        const share = Math.floor(count / users.length) + (i < count % users.length ? 1 : 0);
        const gen = new WsFrameGenerator(ctx.prng.fork(`ws/${i}`), w, users[i]!, ctx.target, `${ctx.prng.seed}-${i}`);
        for (let k = 0; k < share; k++) {
          if (!ctx.target.alive()) return;
          const input = gen.next();
          const expectation = expectationOf(input, ctx.target);
          if (expectation.kind === 'close') {
            stats.frames += 1;
            stats.closingFrames += 1;
            stats.bytesSent += input.bytes.length;
            while (closingInFlight >= 4) await sleep(5);
            closingInFlight += 1;
            closing.push(
              sendClosingFrame(ctx, users[i]!, input, expectation).then(({ code }) => {
                closingInFlight -= 1;
                if (code === expectation.code || (code !== null && code === expectation.alternative)) stats.closesAsDocumented += 1;
              }),
            );
            continue;
          }
          try {
            await conn.send(input, expectation);
          } catch (error) {
            // The connection could not be reopened: this connection's share ends here.
            refused(conn, error);
            return;
          }
        }
      }),
    );
    await Promise.all(closing);
    await Promise.all(connections.map((c) => c.finish()));
  } finally {
    clearInterval(expiry);
    for (const c of connections) c.close();
  }
  return stats;
}
