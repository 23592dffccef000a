import { io, type Socket } from 'socket.io-client';
import WebSocket from 'ws';
import type { Replay } from './findings.js';
import { preview } from './json.js';
import { RawHttpConnection } from './raw-http.js';
import { checkRestOutcome, emptyRestStats, type RestStats } from './rest-channel.js';
import { renderRequest } from './rest-requests.js';
import { exactSio, HandshakeGenerator, PARSER_RESERVED, showSio, SioGenerator, type SioInput } from './socketio-inputs.js';
import { sleep, type ChannelContext } from './ws-channel.js';
import type { FuzzUser } from './world.js';

export interface SocketIoStats {
  packets: number;
  emits: number;
  callbacksExpected: number;
  callbacksAnswered: number;
  rawPackets: number;
  rawAcksExpected: number;
  rawAcksAnswered: number;
  unanswered: number;
  /** Answers owed to a long-polling client whose own over-long POST batch was refused (413), and lost with it. */
  lostToClientSizing: number;
  junkConnections: number;
  junkClosedByServer: number;
  oversize: number;
  oversizeDisconnected: number;
  disconnects: number;
  handshakes: RestStats;
}

const WINDOW = 32;
const DISCONNECT_TIMEOUT_MS = 5_000;

type SioEmitInput = Extract<SioInput, { kind: 'emit' }>;

interface EngineLike {
  write(data: string): void;
  on(event: 'packet', listener: (packet: { type: string; data?: unknown }) => void): void;
}

/** Opens a socket.io-client connection the way the original clients do (token in the query). */
export function openSio(baseUrl: string, token: string, transport: 'websocket' | 'polling'): Promise<Socket> {
  const socket = io(baseUrl, { query: { token }, transports: [transport], reconnection: false, forceNew: true, timeout: 10_000 });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (err) => {
      socket.close();
      reject(err);
    });
  });
}

/** Whether a hand-written EVENT packet is one the server's parser accepts (else it disconnects). */
function parserAccepts(text: string): boolean {
  const json = text.replace(/^2\d*/, '');
  try {
    const payload = JSON.parse(json) as unknown;
    return Array.isArray(payload) && (typeof payload[0] === 'number' || (typeof payload[0] === 'string' && !PARSER_RESERVED.includes(payload[0])));
  } catch {
    return false;
  }
}

/**
 * One long-lived Socket.IO connection of the fuzz: every emit with a callback
 * must get it called, every hand-written packet with an ack id must get an
 * ACK with that id, and no answer may be INTERNAL.
 */
class SioConnection {
  socket: Socket | null = null;
  private pending = new Map<number, { input: SioInput; sentAt: number; timer: NodeJS.Timeout }>();
  private nextLocal = 0;
  private waiters: Array<() => void> = [];
  private readonly recent: SioInput[] = [];
  private closedByUs = false;

  constructor(
    private readonly ctx: ChannelContext,
    private readonly user: FuzzUser,
    private readonly transport: 'websocket' | 'polling',
    private readonly stats: SocketIoStats,
    readonly name: string,
  ) {}

  async open(): Promise<void> {
    this.closedByUs = false;
    const socket = await openSio(this.ctx.world.baseUrl, this.user.token, this.transport);
    this.socket = socket;
    (socket.io.engine as unknown as EngineLike).on('packet', (p) => this.onEnginePacket(p));
    socket.on('disconnect', (reason, description) => this.onDisconnect(socket, reason, description));
  }

  async send(input: SioInput): Promise<void> {
    while (this.pending.size >= WINDOW) await this.changed();
    if (!this.socket?.connected) {
      await this.open();
    }
    const socket = this.socket!;
    remember(this.recent, input);
    if (input.kind === 'emit') {
      this.stats.emits += 1;
      if (!input.callback) {
        socket.emit(input.event as string, ...input.args);
        return;
      }
      this.stats.callbacksExpected += 1;
      const local = --this.nextLocal;
      this.track(local, input);
      socket.emit(input.event as string, ...input.args, (answer: unknown) => this.answered(local, answer));
      return;
    }
    if (input.kind === 'packet') {
      this.stats.rawPackets += 1;
      if (input.ackId !== null) {
        this.stats.rawAcksExpected += 1;
        this.track(input.ackId, input);
      }
      (socket.io.engine as unknown as EngineLike).write(input.text);
    }
  }

  async finish(): Promise<void> {
    const deadline = Date.now() + this.ctx.answerTimeoutMs + 1_000;
    while (this.pending.size > 0 && Date.now() < deadline) await Promise.race([this.changed(), sleep(250)]);
  }

  close(): void {
    this.closedByUs = true;
    this.socket?.close();
    for (const p of this.pending.values()) clearTimeout(p.timer);
  }

  private track(id: number, input: SioInput): void {
    const timer = setTimeout(() => {
      if (!this.pending.delete(id)) return;
      this.stats.unanswered += 1;
      const what = input.kind === 'emit' ? `emit ${String(input.event)} with a callback` : 'packet with an ack id';
      this.ctx.findings.add(
        'socketio',
        'unanswered',
        `${input.kind}|${input.kind === 'emit' ? String(input.event) : 'packet'}`,
        `Socket.IO: ${what} got no answer within ${this.ctx.answerTimeoutMs} ms`,
        {
          input: showSio(input),
          exact: exactSio(input),
          response: '(none)',
          tags: input.tags,
          replay: this.replayOf(input),
        },
      );
      this.notify();
    }, this.ctx.answerTimeoutMs);
    this.pending.set(id, { input, sentAt: Date.now(), timer });
  }

  private answered(id: number, answer: unknown): void {
    const p = this.pending.get(id);
    if (!p) {
      this.ctx.findings.add('socketio', 'duplicate-answer', 'callback', 'Socket.IO: an answer to a callback that was not waiting (a second or a late one)', {
        input: this.recent.map(showSio).join('\n'),
        response: preview(JSON.stringify(answer) ?? 'undefined'),
        tags: [],
      });
      return;
    }
    clearTimeout(p.timer);
    this.pending.delete(id);
    if (p.input.kind === 'emit') this.stats.callbacksAnswered += 1;
    else this.stats.rawAcksAnswered += 1;
    this.notify();
    const a = answer as { success?: unknown; error?: { code?: unknown } } | undefined;
    const event = p.input.kind === 'emit' ? String(p.input.event) : 'packet';
    if (typeof a?.success !== 'boolean') {
      this.ctx.findings.add('socketio', 'malformed-answer', event, `Socket.IO ${event}: an answer without a boolean success`, {
        input: showSio(p.input),
        response: preview(JSON.stringify(answer) ?? 'undefined'),
        tags: p.input.tags,
      });
      return;
    }
    const code = a.success ? null : String(a.error?.code);
    if (code === 'INTERNAL' || code === 'SERVICE_UNAVAILABLE' || code === 'OVERLOADED') {
      this.ctx.findings.add('socketio', 'internal', `${event}|${code}`, `Socket.IO ${event}: answered ${code}`, {
        input: showSio(p.input),
        exact: exactSio(p.input),
        response: preview(JSON.stringify(answer)),
        tags: p.input.tags,
        replay: this.replayOf(p.input),
      });
    }
  }

  /** An emit as it can be sent again; a hand-written packet becomes the emit of what it parses to. */
  private replayOf(input: SioInput): Replay | undefined {
    if (input.kind === 'emit') return { kind: 'sio', token: this.user.token, event: input.event, args: input.args };
    if (input.kind !== 'packet') return undefined;
    try {
      const [event, ...args] = JSON.parse(input.text.replace(/^2\d*/, '')) as [string | number, ...unknown[]];
      return { kind: 'sio', token: this.user.token, event, args };
    } catch {
      return undefined;
    }
  }

  /** ACK packets for hand-written packets: `3<id>[...]` on the main namespace. */
  private onEnginePacket(packet: { type: string; data?: unknown }): void {
    if (packet.type !== 'message' || typeof packet.data !== 'string') return;
    const m = /^3(\d+)(.*)$/s.exec(packet.data);
    if (!m) return;
    const id = Number(m[1]);
    if (id < 1_000_000) return; // socket.io-client's own emits, answered through their callbacks
    let args: unknown;
    try {
      args = JSON.parse(m[2]!);
    } catch {
      args = m[2];
    }
    this.answered(id, Array.isArray(args) ? args[0] : args);
  }

  private onDisconnect(socket: Socket, reason: string, description?: unknown): void {
    // Engine.IO's TransportError: `description` is the HTTP status (polling) or the WebSocket error event.
    const d = description as { message?: string; description?: unknown; context?: { status?: number; responseText?: string } } | undefined;
    const inner = d?.description;
    const detail = [
      d?.message,
      typeof inner === 'number' ? `HTTP ${inner}` : (inner as { message?: string } | undefined)?.message,
      d?.context?.responseText?.slice(0, 200),
    ]
      .filter((x) => x !== undefined && x !== '')
      .join('; ');
    if (socket !== this.socket || this.closedByUs) return;
    const lost = [...this.pending.values()];
    for (const p of lost) clearTimeout(p.timer);
    this.pending.clear();
    this.notify();
    if (this.transport === 'polling' && inner === 413) {
      // engine.io-client sizes base64 as 1.33 × the bytes (not 4/3) when it fills a POST up to the
      // advertised maxPayload, so a batch heavy in binary can come out a little over it; the server
      // refuses that body as documented. What the batch carried was never received: not owed.
      for (const p of lost) {
        if (p.input.kind === 'emit') this.stats.callbacksExpected -= 1;
        else this.stats.rawAcksExpected -= 1;
      }
      this.stats.lostToClientSizing += lost.length;
      this.ctx.findings.add(
        'socketio',
        'client-sizing',
        'polling-413',
        'Socket.IO over polling: the client sent a batch over the advertised maxPayload (413)',
        {
          input: this.recent.map(showSio).join('\n'),
          response: `${this.name}: disconnect: ${reason} (${detail}); ${lost.length} requests in the refused batch`,
          tags: this.recent.flatMap((i) => i.tags),
        },
      );
      return;
    }
    this.stats.disconnects += 1;
    this.stats.unanswered += lost.length;
    this.ctx.findings.add(
      'socketio',
      'unexpected-close',
      `${this.transport}|${reason}`,
      `Socket.IO over ${this.transport}: the server disconnected a client (${reason}) after ordinary packets`,
      {
        input: this.recent.map(showSio).join('\n'),
        response: `${this.name}: disconnect: ${reason}${detail ? ` (${detail})` : ''}; ${lost.length} answers lost with it`,
        tags: this.recent.flatMap((i) => i.tags),
      },
    );
  }

  private changed(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private notify(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

const remember = (list: SioInput[], input: SioInput) => {
  list.push(input);
  if (list.length > 5) list.shift();
};

/** An emit over the packet limit, on a socket of its own: the server must disconnect it. */
async function sendOversize(ctx: ChannelContext, user: FuzzUser, input: SioEmitInput, stats: SocketIoStats): Promise<void> {
  stats.oversize += 1;
  /** The disconnect reason, null when still connected after the timeout. */
  const attempt = async (): Promise<string | null> => {
    const socket = await openSio(ctx.world.baseUrl, user.token, 'websocket');
    const gone = new Promise<string>((resolve) => socket.once('disconnect', (reason) => resolve(reason)));
    socket.emit(input.event as string, ...input.args, () => undefined);
    const reason = await Promise.race([gone, sleep(DISCONNECT_TIMEOUT_MS).then(() => null)]);
    socket.close();
    return reason;
  };
  try {
    if ((await attempt()) !== null) {
      stats.oversizeDisconnected += 1;
      return;
    }
    // Once more on a new socket, to tell a rule that does not hold from one that held late.
    const again = await attempt();
    ctx.findings.add(
      'socketio',
      'close-code',
      'oversize-kept',
      `Socket.IO: a packet of ${input.largestFrame} bytes (over MAX_FRAME_BYTES) did not disconnect the client within ${DISCONNECT_TIMEOUT_MS} ms`,
      {
        input: showSio(input),
        exact: exactSio(input),
        response: `(still connected); sent again on a new socket: ${again === null ? 'still connected again' : `disconnected (${again}) that time`}`,
        tags: input.tags,
      },
    );
  } catch (error) {
    ctx.findings.add('socketio', 'unexpected-close', 'connect-refused', 'Socket.IO: a connection with a valid token was refused', {
      input: 'io(url, { query: { token } })',
      response: String(error),
      tags: [],
    });
  }
}

/**
 * Protocol junk on a raw Engine.IO WebSocket of its own: the server may close
 * it or ignore it, but must not answer INTERNAL or die.
 */
async function sendJunk(ctx: ChannelContext, user: FuzzUser, input: Extract<SioInput, { kind: 'junk' }>, stats: SocketIoStats): Promise<void> {
  stats.junkConnections += 1;
  const url = `ws://${ctx.target.host}:${ctx.target.port}/socket.io/?EIO=4&transport=websocket&token=${encodeURIComponent(user.token)}`;
  const ws = new WebSocket(url, { perMessageDeflate: false });
  const received: string[] = [];
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  ws.on('error', () => undefined);
  ws.on('message', (data, isBinary) => {
    const text = isBinary ? `<binary>` : data.toString();
    received.push(text);
    if (text === '2') ws.send('3'); // answer pings
  });
  const opened = await Promise.race([
    new Promise<boolean>((resolve) => ws.once('open', () => resolve(true))),
    closed.then(() => false),
    sleep(5_000).then(() => false),
  ]);
  if (!opened) {
    ws.terminate();
    ctx.findings.add('socketio', 'unexpected-close', 'engine-ws-refused', 'Socket.IO: a raw Engine.IO WebSocket with a valid token did not open', {
      input: url.replace(user.token, '<token>'),
      response: received.join(' | '),
      tags: [],
    });
    return;
  }
  ws.send('40');
  for (const frame of input.frames) ws.send(frame, { binary: typeof frame !== 'string' });
  const code = await Promise.race([closed, sleep(400).then(() => null)]);
  if (code !== null) stats.junkClosedByServer += 1;
  else ws.terminate();
  const internal = received.find((m) => /"code":"(INTERNAL|SERVICE_UNAVAILABLE|OVERLOADED)"/.test(m));
  if (internal) {
    ctx.findings.add('socketio', 'internal', `junk|${input.tags[0]}`, `Socket.IO: protocol junk answered with an error that is not the client's fault`, {
      input: showSio(input),
      exact: exactSio(input),
      response: preview(internal),
      tags: input.tags,
    });
  }
}

/** `count` Socket.IO packets over four sockets (three WebSocket, one long-polling), then `handshakes` raw handshakes. */
export async function fuzzSocketIo(ctx: ChannelContext, count: number, handshakes: number): Promise<SocketIoStats> {
  const handshakeStats = emptyRestStats();
  const stats: SocketIoStats = {
    packets: 0,
    emits: 0,
    callbacksExpected: 0,
    callbacksAnswered: 0,
    rawPackets: 0,
    rawAcksExpected: 0,
    rawAcksAnswered: 0,
    unanswered: 0,
    lostToClientSizing: 0,
    junkConnections: 0,
    junkClosedByServer: 0,
    oversize: 0,
    oversizeDisconnected: 0,
    disconnects: 0,
    handshakes: handshakeStats,
  };
  const w = ctx.world;
  const plan: Array<[FuzzUser, 'websocket' | 'polling']> = [
    [w.alice, 'websocket'],
    [w.bob, 'websocket'],
    [w.carol, 'websocket'],
    [w.alice, 'polling'],
  ];
  const connections = plan.map(([u, t], i) => new SioConnection(ctx, u, t, stats, `sio#${i} (${u.username}, ${t})`));
  const refused = (conn: SioConnection, error: unknown) =>
    ctx.findings.add('socketio', 'unexpected-close', 'connect-refused', 'Socket.IO: a connection with a valid token could not be (re)opened', {
      input: `io(url, { query: { token } }) for ${conn.name}`,
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
  let sideInFlight = 0;
  const side: Array<Promise<void>> = [];
  const runSide = async (work: () => Promise<void>) => {
    while (sideInFlight >= 4) await sleep(5);
    sideInFlight += 1;
    side.push(work().finally(() => (sideInFlight -= 1)));
  };
  try {
    await Promise.all(
      connections.map(async (conn, i) => {
        if (!opened[i]) return;
        const share = Math.floor(count / plan.length) + (i < count % plan.length ? 1 : 0);
        const [user, transport] = plan[i]!;
        const gen = new SioGenerator(ctx.prng.fork(`sio/${i}`), w, user, ctx.target, `${ctx.prng.seed}s${i}`, transport);
        for (let k = 0; k < share; k++) {
          if (!ctx.target.alive()) return;
          const input = gen.next();
          stats.packets += 1;
          if (input.kind === 'junk') await runSide(() => sendJunk(ctx, user, input, stats));
          else if (input.kind === 'emit' && input.largestFrame > ctx.target.maxFrameBytes) await runSide(() => sendOversize(ctx, user, input, stats));
          else if (input.kind === 'packet' && (!parserAccepts(input.text) || Buffer.byteLength(input.text) + 1 > ctx.target.maxFrameBytes)) {
            // The server disconnects for these (a parse error, a packet over the limit): on a connection of their own.
            await runSide(() => sendJunk(ctx, user, { kind: 'junk', frames: [`4${input.text}`], tags: input.tags }, stats));
          } else {
            try {
              await conn.send(input);
            } catch (error) {
              refused(conn, error);
              return;
            }
          }
        }
      }),
    );
    await Promise.all(side);
    await Promise.all(connections.map((c) => c.finish()));
  } finally {
    for (const c of connections) c.close();
  }
  await fuzzHandshakes(ctx, handshakes, handshakeStats);
  return stats;
}

/** Raw Engine.IO handshakes: each gets a status, never 5xx; sessions they open are closed again. */
async function fuzzHandshakes(ctx: ChannelContext, count: number, stats: RestStats): Promise<void> {
  const { target, world } = ctx;
  const host = `${target.host}:${target.port}`;
  const workers = 4;
  await Promise.all(
    Array.from({ length: workers }, async (_, i) => {
      const gen = new HandshakeGenerator(
        ctx.prng.fork(`handshake/${i}`),
        world,
        [world.alice, world.bob, world.carol, world.mallory][i]!,
        target.allowedOrigin,
      );
      const share = Math.floor(count / workers) + (i < count % workers ? 1 : 0);
      for (let k = 0; k < share; k++) {
        if (!target.alive()) return;
        const req = gen.next();
        const conn = new RawHttpConnection(target.host, target.port);
        const bytes = renderRequest(req, host, false);
        const outcome = await conn.request(bytes, { head: false, timeoutMs: ctx.answerTimeoutMs });
        conn.destroy();
        stats.requests += 1;
        if (req.upgrade) stats.upgrades += 1;
        checkRestOutcome(ctx, stats, req, bytes, outcome, 'socketio');
        if (!outcome.ok || outcome.response.status !== 200) continue;
        // A session opened without a token waits for its CONNECT: send it a hostile one (or an event first).
        if (req.tags.includes('token:none')) await connectBeforeAuth(ctx, stats, gen, outcome.response.body);
        await closeSession(target.host, target.port, host, outcome.response.body);
      }
    }),
  );
}

/** One hostile CONNECT (or an event before any) on a session opened without a token: answered, never 5xx. */
async function connectBeforeAuth(ctx: ChannelContext, stats: RestStats, gen: HandshakeGenerator, handshakeBody: Buffer): Promise<void> {
  const sid = /"sid":"([^"]+)"/.exec(handshakeBody.toString('utf8'))?.[1];
  if (!sid) return;
  const req = gen.connectPacket(sid);
  const conn = new RawHttpConnection(ctx.target.host, ctx.target.port);
  const bytes = renderRequest(req, `${ctx.target.host}:${ctx.target.port}`, false);
  const outcome = await conn.request(bytes, { head: false, timeoutMs: ctx.answerTimeoutMs });
  conn.destroy();
  stats.requests += 1;
  checkRestOutcome(ctx, stats, req, bytes, outcome, 'socketio');
}

/** A handshake that opened a long-polling session: close it, so it does not linger until its ping timeout. */
async function closeSession(hostName: string, port: number, host: string, body: Buffer): Promise<void> {
  const m = /"sid":"([^"]+)"/.exec(body.toString('utf8'));
  if (!m) return;
  const conn = new RawHttpConnection(hostName, port);
  const payload = Buffer.from('1');
  await conn.request(
    Buffer.concat([
      Buffer.from(
        `POST /socket.io/?EIO=4&transport=polling&sid=${m[1]} HTTP/1.1\r\nHost: ${host}\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: 1\r\nConnection: close\r\n\r\n`,
      ),
      payload,
    ]),
    { timeoutMs: 5_000 },
  );
  conn.destroy();
}
