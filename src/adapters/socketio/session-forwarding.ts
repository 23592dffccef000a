import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { HttpRequest, HttpResponse, TemplatedApp, us_socket_context_t, WebSocket as UwsSocket, WebSocketBehavior } from '@trufflesuite/uws-js-unofficial';
import { WebSocket } from 'ws';
import type { Logger } from '../../application/ports/services.js';
import type { PeerAddress, SessionPeers } from './session-peers.js';

/** What Engine.IO answers for a session it does not know; a client then opens a new one. */
const UNKNOWN_SESSION = '{"code":1,"message":"Session ID unknown"}';
/** Hop-by-hop headers (RFC 9110, 7.6.1), and those the forwarding side sets itself. */
const NOT_FORWARDED = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'upgrade', 'proxy-connection', 'te', 'trailer', 'date']);
const WS_HANDSHAKE = new Set(['sec-websocket-key', 'sec-websocket-version', 'sec-websocket-extensions', 'sec-websocket-protocol']);
/** One pool of loopback connections to the other processes, reused across requests. */
const agent = new http.Agent({ keepAlive: true });

export interface ForwardingOptions {
  readonly peers: SessionPeers;
  /** Engine.IO's own bound on a request body; a larger one is answered 413 without being forwarded. */
  readonly maxBodyBytes: number;
  /** Bytes a bridged WebSocket may have queued towards its client before the owner's side is paused. */
  readonly maxBufferedBytes: number;
  readonly logger: Logger;
}

/** The `sid` of a query string, or null; most requests (handshakes, other routes) stop at the first test. */
function sidOf(query: string): string | null {
  if (!query.includes('sid=')) return null;
  return new URLSearchParams(query).get('sid');
}

/**
 * uWebSockets.js: the app as Engine.IO should see it. Engine.IO registers its
 * routes (`any` and `ws` on the endpoint's path) through this wrapper, which
 * puts a check in front of its handlers: a request for another process's
 * session is forwarded there over loopback (long-polling by HTTP, an upgrade by
 * bridging frames, since uWS cannot hand a raw socket on); every other request
 * goes to Engine.IO's handler as before, after one look at the query string.
 */
export function forwardingApp(app: TemplatedApp, options: ForwardingOptions): TemplatedApp {
  const wrapper: TemplatedApp = new Proxy(app, {
    get(target, property, receiver) {
      if (property === 'any')
        return (pattern: string, handler: (res: HttpResponse, req: HttpRequest) => void) => {
          target.any(pattern, (res, req) => {
            if (!forwardHttp(res, req, options)) handler(res, req);
          });
          return wrapper;
        };
      if (property === 'ws')
        return (pattern: string, behavior: WebSocketBehavior<unknown>) => {
          target.ws(pattern, bridgedBehavior(behavior, options));
          return wrapper;
        };
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  return wrapper;
}

type Bridged = { bridge?: FrameBridge };

/** Engine.IO's WebSocket behaviour, with bridged sockets (marked in their user data) handled beside it. */
function bridgedBehavior(behavior: WebSocketBehavior<unknown>, options: ForwardingOptions): WebSocketBehavior<unknown> {
  const bridgeOf = (ws: UwsSocket<unknown>) => (ws.getUserData() as Bridged).bridge;
  return {
    ...behavior,
    upgrade: (res, req, context) => {
      if (!forwardUpgrade(res, req, context, options)) void behavior.upgrade?.(res, req, context);
    },
    open: (ws) => {
      const bridge = bridgeOf(ws);
      if (bridge) bridge.opened(ws);
      else void behavior.open?.(ws);
    },
    message: (ws, message, isBinary) => {
      const bridge = bridgeOf(ws);
      if (bridge) bridge.fromClient(message, isBinary);
      else void behavior.message?.(ws, message, isBinary);
    },
    drain: (ws) => {
      const bridge = bridgeOf(ws);
      if (bridge) bridge.drained();
      else behavior.drain?.(ws);
    },
    close: (ws, code, message) => {
      const bridge = bridgeOf(ws);
      if (bridge) bridge.clientClosed();
      else behavior.close?.(ws, code, message);
    },
  };
}

/** An upgrade for another process's session: bridged to it once it accepts. Returns false for this process's own. */
function forwardUpgrade(res: HttpResponse, req: HttpRequest, context: us_socket_context_t, options: ForwardingOptions): boolean {
  const { peers, maxBufferedBytes, logger } = options;
  const query = req.getQuery() ?? '';
  const sid = sidOf(query);
  const owner = sid === null ? null : peers.ownerOf(sid);
  if (owner === null) return false;
  if (owner === 'gone') {
    unknownSession(res);
    return true;
  }
  const key = req.getHeader('sec-websocket-key');
  const protocol = req.getHeader('sec-websocket-protocol');
  const extensions = req.getHeader('sec-websocket-extensions');
  const headers: Record<string, string> = {};
  req.forEach((k, v) => {
    if (!NOT_FORWARDED.has(k) && !WS_HANDSHAKE.has(k)) headers[k] = v;
  });
  let aborted = false;
  res.onAborted(() => {
    aborted = true;
  });
  // The owner accepts or refuses the upgrade first; the client gets the same answer.
  const upstream = new WebSocket(`ws://127.0.0.1:${owner.port}${req.getUrl()}?${query}`, { headers, perMessageDeflate: false });
  upstream.once('error', () => !aborted && unknownSession(res));
  upstream.once('unexpected-response', (_request, answer) => {
    answer.resume();
    if (!aborted) unknownSession(res);
  });
  upstream.once('open', () => {
    if (aborted) return upstream.terminate();
    // Not corked: with the npm build, an upgrade corked after an await sometimes closed the new socket at once.
    res.upgrade<Bridged>({ bridge: new FrameBridge(upstream, maxBufferedBytes, logger) }, key, protocol, extensions, context);
  });
  return true;
}

/** A long-polling request for another process's session: forwarded over HTTP. Returns false for this process's own. */
function forwardHttp(res: HttpResponse, req: HttpRequest, options: ForwardingOptions): boolean {
  const { peers, maxBodyBytes } = options;
  const query = req.getQuery() ?? '';
  const sid = sidOf(query);
  const owner = sid === null ? null : peers.ownerOf(sid);
  if (owner === null) return false;
  if (owner === 'gone') {
    unknownSession(res);
    return true;
  }
  const method = req.getMethod().toUpperCase();
  const target = `${req.getUrl()}?${query}`;
  // uWS may never call onData for a body that is declared empty.
  const emptyBody = req.getHeader('content-length') === '0' && !req.getHeader('transfer-encoding');
  const headers: Record<string, string> = {};
  req.forEach((k, v) => {
    if (!NOT_FORWARDED.has(k)) headers[k] = headers[k] === undefined ? v : `${headers[k]}, ${v}`;
  });
  let upstream: http.ClientRequest | null = null;
  let done = false;
  res.onAborted(() => {
    done = true;
    upstream?.destroy();
  });
  const answer = (write: () => void) => {
    if (done) return;
    done = true;
    res.cork(write);
  };
  const send = (body: Buffer) => {
    upstream = http.request({
      host: '127.0.0.1',
      port: owner.port,
      method,
      path: target,
      headers: { ...headers, 'content-length': String(body.length) },
      agent,
    });
    upstream.once('response', (reply) => {
      const chunks: Buffer[] = [];
      reply.on('data', (chunk: Buffer) => chunks.push(chunk));
      reply.once('end', () =>
        answer(() => {
          res.writeStatus(`${reply.statusCode ?? 502} ${reply.statusMessage ?? ''}`);
          for (const [k, v] of Object.entries(reply.headers))
            if (v !== undefined && !NOT_FORWARDED.has(k)) for (const one of Array.isArray(v) ? v : [v]) res.writeHeader(k, one);
          res.end(Buffer.concat(chunks));
        }),
      );
      reply.once('error', () => answer(() => writeUnknownSession(res)));
    });
    // The owner is gone (or went away mid-request): its sessions are unknown now.
    upstream.once('error', () => answer(() => writeUnknownSession(res)));
    upstream.end(body);
  };
  if (method !== 'POST' || emptyBody) {
    send(Buffer.alloc(0));
    return true;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  res.onData((chunk, isLast) => {
    if (done) return;
    size += chunk.byteLength;
    if (size > maxBodyBytes) return answer(() => res.writeStatus('413 Payload Too Large').end());
    chunks.push(Buffer.from(new Uint8Array(chunk).slice())); // uWS neuters the chunk on return
    if (isLast) send(Buffer.concat(chunks));
  });
  return true;
}

/**
 * Node's http server: an Engine.IO middleware step. Returns false for a
 * request this process serves; otherwise it has forwarded the request to the
 * session's owner (long-polling by HTTP, an upgrade as a raw TCP tunnel, so the
 * owner completes the WebSocket handshake itself) or answered it.
 */
export function forwardForeignSessionOnNode(req: IncomingMessage & { _query?: Record<string, string> }, res: unknown, peers: SessionPeers): boolean {
  const sid = req._query?.sid;
  const owner = sid ? peers.ownerOf(sid) : null;
  if (owner === null) return false;
  const upgrade = res as { socket?: Duplex; statusCode?: number };
  if (upgrade.socket && upgrade.statusCode === undefined) tunnel(req, upgrade.socket, owner);
  else proxy(req, res as ServerResponse, owner);
  return true;
}

function proxy(req: IncomingMessage, res: ServerResponse, owner: PeerAddress | 'gone'): void {
  const fail = () => {
    if (res.headersSent) return void res.destroy();
    res.writeHead(400, { 'Content-Type': 'application/json' }).end(UNKNOWN_SESSION);
  };
  if (owner === 'gone') return fail();
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && (k === 'content-length' || !NOT_FORWARDED.has(k))) headers[k] = v;
  const upstream = http.request({ host: '127.0.0.1', port: owner.port, method: req.method, path: req.url, headers, agent });
  upstream.once('response', (reply) => {
    const out: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(reply.headers)) if (v !== undefined && (k === 'content-length' || !NOT_FORWARDED.has(k))) out[k] = v;
    res.writeHead(reply.statusCode ?? 502, reply.statusMessage, out);
    reply.pipe(res);
    reply.once('error', () => res.destroy());
  });
  upstream.once('error', fail);
  res.once('close', () => {
    if (!res.writableFinished) upstream.destroy();
  });
  req.pipe(upstream);
}

function tunnel(req: IncomingMessage, socket: Duplex, owner: PeerAddress | 'gone'): void {
  const refuse = () => {
    if (socket.writable)
      socket.end(
        `HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${UNKNOWN_SESSION.length}\r\n\r\n${UNKNOWN_SESSION}`,
      );
    else socket.destroy();
  };
  if (owner === 'gone') return refuse();
  const upstream = net.connect(owner.port, '127.0.0.1');
  const lines = [`${req.method ?? 'GET'} ${req.url ?? '/'} HTTP/1.1`];
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
  upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
  let answered = false;
  upstream.once('data', () => {
    answered = true;
  });
  upstream.on('error', () => (answered ? socket.destroy() : refuse()));
  socket.on('error', () => upstream.destroy());
  socket.once('close', () => upstream.destroy());
  upstream.once('close', () => answered && socket.destroy());
  socket.pipe(upstream);
  upstream.pipe(socket);
}

function unknownSession(res: HttpResponse): void {
  res.cork(() => writeUnknownSession(res));
}

function writeUnknownSession(res: HttpResponse): void {
  res.writeStatus('400 Bad Request').writeHeader('Content-Type', 'application/json').end(UNKNOWN_SESSION);
}

/**
 * One client WebSocket (here) joined to one WebSocket to the session's owner.
 * Backpressure crosses it: while the client has more than the bound queued,
 * the owner's side is not read, so the owner's own slow-consumer check sees it.
 */
class FrameBridge {
  private client: UwsSocket<unknown> | null = null;
  private clientGone = false;
  /** What the owner sent before the client's socket was open. */
  private early: Array<[Buffer, boolean]> | null = [];

  constructor(
    private readonly upstream: WebSocket,
    private readonly maxBufferedBytes: number,
    private readonly logger: Logger,
  ) {
    upstream.on('message', (data: Buffer, isBinary) => this.toClient(data, isBinary));
    upstream.once('close', () => {
      if (!this.clientGone) this.client?.end(1000);
    });
    upstream.on('error', (error) => this.logger.debug({ err: error }, 'bridged Engine.IO WebSocket failed'));
  }

  opened(ws: UwsSocket<unknown>): void {
    this.client = ws;
    const early = this.early ?? [];
    this.early = null;
    for (const [data, isBinary] of early) this.toClient(data, isBinary);
    if (this.upstream.readyState !== WebSocket.OPEN) ws.end(1000);
  }

  fromClient(message: ArrayBuffer, isBinary: boolean): void {
    if (this.upstream.readyState !== WebSocket.OPEN) return;
    const data = Buffer.from(new Uint8Array(message).slice()); // uWS neuters the message on return
    this.upstream.send(isBinary ? data : data.toString('utf8'), { binary: isBinary });
  }

  drained(): void {
    if (this.client && !this.clientGone && this.client.getBufferedAmount() < this.maxBufferedBytes) this.upstream.resume();
  }

  clientClosed(): void {
    this.clientGone = true;
    this.upstream.close();
  }

  private toClient(data: Buffer, isBinary: boolean): void {
    if (this.early) return void this.early.push([data, isBinary]);
    if (!this.client || this.clientGone) return;
    this.client.send(data, isBinary);
    if (this.client.getBufferedAmount() >= this.maxBufferedBytes) this.upstream.pause();
  }
}
