import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { Connection, type ConnectionInit } from '../gateway/connection.js';
import type { Admitted, Gateway } from '../gateway/gateway.js';
import { BodyTooLargeError, ClientGoneError, errorReply, replyPayload, STATUS_TEXT, type HttpReply, type HttpRequest } from '../gateway/http.js';
import type { SocketIoHost, Transport } from '../gateway/transport.js';

export interface NodeTransportOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
}

/** Headers must be in within this, as uWS's own bound (a client trickling them in is cut). */
const HEADERS_TIMEOUT_MS = 10_000;
/** How often the timeouts are checked: a slow client is cut at most this long after its bound. */
const TIMEOUT_CHECK_MS = 1_000;

class NodeWsConnection extends Connection {
  readonly protocol = 'ws' as const;
  /** Set when the peer showed life since the last heartbeat. */
  alive = true;

  constructor(
    init: ConnectionInit,
    readonly ws: WebSocket,
  ) {
    super(init);
  }

  protected write(frame: string | Buffer): void {
    this.ws.send(frame, { binary: false });
  }

  bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }

  protected end(code: number, reason: string): void {
    this.ws.close(code, reason);
  }
}

/**
 * Node's own HTTP server with the `ws` package, for Node.js versions that have
 * no native uWebSockets.js: the same REST API, `/ws` protocol and Socket.IO
 * endpoint on one port, through the same gateway. `ws` closes frames over the
 * limit with 1009 and invalid UTF-8 with 1007 itself.
 */
export class NodeTransport implements Transport {
  readonly name = 'node' as const;
  readonly build: string;
  readonly socketIoHost: SocketIoHost;
  private readonly server: http.Server;
  private readonly wss: WebSocketServer;
  private readonly heartbeat: NodeJS.Timeout | null;
  private readonly sockets = new Set<NodeWsConnection>();
  private loopback: net.Server | null = null;

  constructor(
    private readonly gateway: Gateway,
    private readonly options: NodeTransportOptions,
  ) {
    this.build = `node:http + ws (Node.js ${process.version})`;
    this.server = http.createServer({
      requestTimeout: 30_000,
      headersTimeout: HEADERS_TIMEOUT_MS,
      // Node checks both timeouts only this often (30 s by default, which let a slow-header client stay 30 s).
      connectionsCheckingInterval: TIMEOUT_CHECK_MS,
      keepAliveTimeout: 5_000,
    });
    this.socketIoHost = { kind: 'node', server: this.server };
    this.wss = new WebSocketServer({ noServer: true, maxPayload: gateway.options.maxFrameBytes, clientTracking: false, perMessageDeflate: false });
    this.server.on('request', (req: IncomingMessage, res: ServerResponse) => this.serveHttp(req, res));
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.upgrade(req, socket, head));
    // What Node's parser refuses (ambiguous lengths, junk, oversized headers) or times out: answered and closed.
    this.server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
      if (!socket.writable) return void socket.destroy();
      const refused = parserRefusal(error.code);
      refuseRaw(socket, refused.status, JSON.stringify(refused.body));
    });
    const idle = gateway.options.idleTimeoutSeconds;
    // As uWS does: ping each socket every half idle period; one that stayed silent for a whole period is dropped.
    this.heartbeat = idle > 0 ? setInterval(() => this.beat(), (idle * 1000) / 2) : null;
    this.heartbeat?.unref();
  }

  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ host: this.options.host, port: this.options.port }, () => {
        this.server.off('error', reject);
        const address = this.server.address();
        resolve(typeof address === 'object' && address ? address.port : this.options.port);
      });
    });
  }

  listenLoopback(): Promise<number> {
    // Its connections join the main server's; `exclusive`, because a cluster worker's listen is otherwise shared by all.
    const loopback = net.createServer((socket) => this.server.emit('connection', socket));
    this.loopback = loopback;
    return new Promise((resolve, reject) => {
      loopback.once('error', reject);
      loopback.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
        loopback.off('error', reject);
        resolve((loopback.address() as net.AddressInfo).port);
      });
    });
  }

  stopListening(): void {
    this.loopback?.close();
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.server.close();
    this.server.closeIdleConnections();
  }

  private serveHttp(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const request: HttpRequest = {
      method: (req.method ?? 'GET').toUpperCase(),
      path: q < 0 ? url : url.slice(0, q),
      query: q < 0 ? '' : url.slice(q + 1),
      header: (name) => headerOf(req, name),
      remoteAddress: req.socket.remoteAddress ?? '',
      body: () => readBody(req, this.gateway.bodyLimit(request.method, request.path, request.query)),
    };
    void this.gateway.handleHttp(request).then((reply) => {
      if (res.writableEnded || res.destroyed) return;
      try {
        const { contentType, data } = replyPayload(reply);
        const headers: Record<string, string> = {};
        for (const [k, v] of reply.headers ?? []) headers[k] = v;
        if (contentType) headers['Content-Type'] = contentType;
        res.writeHead(reply.status, STATUS_TEXT[reply.status], headers);
        res.end(request.method === 'HEAD' ? undefined : data);
      } catch (error) {
        this.gateway.options.logger.error({ err: error }, 'could not write a reply');
        res.destroy();
      }
    });
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    socket.on('error', () => socket.destroy());
    if (req.method !== 'GET') {
      // A WebSocket handshake is a GET (RFC 6455, 4.1); Node hands any request with Upgrade here,
      // Socket.IO's path included, where Engine.IO would leave it unanswered.
      refuseRaw(socket, 405, '{"error":{"code":"METHOD_NOT_ALLOWED","message":"A WebSocket handshake is a GET"}}', [['Allow', 'GET']]);
      return;
    }
    if (path !== '/ws') {
      // Socket.IO, when attached (its own 'upgrade' listener beside this one), takes its own path;
      // anything else is not a WebSocket endpoint here.
      if (!path.startsWith('/socket.io/') || this.server.listenerCount('upgrade') < 2)
        refuseRaw(socket, 404, '{"error":{"code":"NOT_FOUND","message":"No WebSocket endpoint here"}}');
      return;
    }
    const g = this.gateway;
    const remoteAddress = req.socket.remoteAddress ?? '';
    void g.admit({ query: q < 0 ? '' : url.slice(q + 1), header: (name) => headerOf(req, name), remoteAddress }).then((admitted) => {
      if (socket.destroyed) return;
      if (!admitted.ok) {
        refuseRaw(socket, admitted.status, admitted.body, admitted.headers);
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => this.open(ws, admitted));
    });
  }

  private open(ws: WebSocket, admitted: Admitted): void {
    const g = this.gateway;
    const connection = new NodeWsConnection(g.connectionInit(admitted), ws);
    this.sockets.add(connection);
    g.opened(connection, admitted);
    ws.on('message', (data, isBinary) => {
      connection.alive = true;
      try {
        g.realtime.onFrame(connection, isBinary ? null : (data as Buffer).toString('utf8'));
      } catch (error) {
        connection.logger.error({ err: error }, 'frame handler failed');
      }
    });
    ws.on('pong', () => {
      connection.alive = true;
    });
    ws.on('error', (error) => connection.logger.info({ err: error }, 'WebSocket error'));
    ws.on('close', () => {
      this.sockets.delete(connection);
      g.closed(connection);
    });
  }

  private beat(): void {
    for (const connection of this.sockets) {
      if (!connection.alive) {
        connection.ws.terminate();
        continue;
      }
      connection.alive = false;
      connection.ws.ping();
    }
  }
}

function parserRefusal(code: string | undefined): HttpReply {
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return errorReply({ code: 'REQUEST_TIMEOUT', message: 'The request did not arrive in time' });
  if (code === 'HPE_HEADER_OVERFLOW') return errorReply({ code: 'HEADERS_TOO_LARGE', message: 'The request headers are too large' });
  return errorReply({ code: 'MALFORMED_REQUEST', message: 'The request is not valid HTTP/1.1 (or its length is ambiguous)' });
}

function headerOf(req: IncomingMessage, name: string): string {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(', ') : (value ?? '');
}

function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > max) return Promise.reject(new BodyTooLargeError());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size > max) {
        req.removeAllListeners('data');
        req.resume();
        reject(new BodyTooLargeError());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', () => reject(new ClientGoneError()));
  });
}

function refuseRaw(socket: Duplex, status: number, body: string, headers: ReadonlyArray<readonly [string, string]> = []): void {
  const lines = [
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? ''}`,
    'Connection: close',
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
  ];
  for (const [k, v] of headers) lines.push(`${k}: ${v}`);
  socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`);
}
