import { Connection, CLOSE, type ConnectionInit } from '../gateway/connection.js';
import type { Admitted, Gateway } from '../gateway/gateway.js';
import {
  BodyTooLargeError,
  ClientGoneError,
  errorReply,
  replyPayload,
  statusLine,
  type HttpReply,
  type HttpRequest as GatewayRequest,
} from '../gateway/http.js';
import type { SocketIoHost, Transport } from '../gateway/transport.js';
import type { HttpRequest, HttpResponse, TemplatedApp, us_listen_socket, UwsBuild, WebSocket } from './uws.js';

export interface UwsTransportOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
}

/**
 * Frames above the protocol's limit are closed with 1009 by our own check; uWS
 * drops anything above this (1006, no close frame) and buffers up to it.
 */
const UWS_MAX_PAYLOAD = 16 * 1024 * 1024;

interface SocketData {
  connection: UwsConnection;
}

/**
 * Frames written during one turn of the event loop go out together, in one
 * cork (one system call per connection per turn rather than one per frame):
 * a sender's ack and its message's push, or a burst of pushes, share it.
 */
class Outbox {
  private readonly waiting: UwsConnection[] = [];
  private scheduled = false;

  add(connection: UwsConnection): void {
    this.waiting.push(connection);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    for (const connection of this.waiting.splice(0)) connection.flush();
  }
}

class UwsConnection extends Connection {
  readonly protocol = 'ws' as const;
  ws: WebSocket<SocketData> | null = null;
  private pending: Array<string | Buffer> | null = null;
  private pendingBytes = 0;

  constructor(
    init: ConnectionInit,
    readonly admitted: Admitted,
    private readonly outbox: Outbox,
  ) {
    super(init);
  }

  protected write(frame: string | Buffer): void {
    if (this.pending) this.pending.push(frame);
    else {
      this.pending = [frame];
      this.outbox.add(this);
    }
    this.pendingBytes += frame.length;
  }

  /** Sends what this turn wrote, in one cork. */
  flush(): void {
    const frames = this.pending;
    const ws = this.ws;
    this.pending = null;
    this.pendingBytes = 0;
    if (!frames || !ws || this.gone) return;
    ws.cork(() => {
      for (const frame of frames) ws.send(frame, false);
    });
  }

  /** Closed by the peer: uWS forbids touching the socket from now on. */
  gone = false;

  bufferedAmount(): number {
    return (this.gone || !this.ws ? 0 : this.ws.getBufferedAmount()) + this.pendingBytes;
  }

  protected end(code: number, reason: string): void {
    this.flush();
    if (!this.gone) this.ws?.end(code, reason);
  }
}

/**
 * uWebSockets.js: translates its HTTP requests, upgrades and socket events
 * into gateway calls, on one app and port (the Socket.IO endpoint attaches to
 * the same app). Request data is copied out synchronously, as uWS requires.
 */
export class UwsTransport implements Transport {
  readonly name = 'uws' as const;
  readonly build: string;
  readonly socketIoHost: SocketIoHost;
  private readonly app: TemplatedApp;
  private listenSocket: us_listen_socket | null = null;
  private loopbackSocket: us_listen_socket | null = null;
  private readonly outbox = new Outbox();

  constructor(
    private readonly uws: UwsBuild,
    private readonly gateway: Gateway,
    private readonly options: UwsTransportOptions,
  ) {
    this.build = `${uws.package} ${uws.version} (native)`;
    this.app = uws.module.App();
    this.socketIoHost = { kind: 'uws', app: this.app };
    this.mountWebSocket();
    this.app.any('/*', (res, req) => this.serveHttp(res, req));
  }

  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.app.listen(this.options.host, this.options.port, (socket) => {
        if (!socket) return reject(new Error(`Cannot listen on ${this.options.host}:${this.options.port}`));
        this.listenSocket = socket;
        resolve(this.uws.module.us_socket_local_port(socket));
      });
    });
  }

  listenLoopback(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.app.listen('127.0.0.1', 0, (socket) => {
        if (!socket) return reject(new Error('Cannot listen on a loopback port'));
        this.loopbackSocket = socket;
        resolve(this.uws.module.us_socket_local_port(socket));
      });
    });
  }

  stopListening(): void {
    if (this.listenSocket) this.uws.module.us_listen_socket_close(this.listenSocket);
    if (this.loopbackSocket) this.uws.module.us_listen_socket_close(this.loopbackSocket);
    this.listenSocket = null;
    this.loopbackSocket = null;
  }

  private mountWebSocket(): void {
    const g = this.gateway;
    const { maxFrameBytes, idleTimeoutSeconds, maxBackpressureBytes } = g.options;
    this.app.ws<SocketData>('/ws', {
      maxPayloadLength: Math.max(UWS_MAX_PAYLOAD, maxFrameBytes + 1),
      idleTimeout: idleTimeoutSeconds,
      sendPingsAutomatically: true,
      // Slow consumers are closed (4008) by the gateway before uWS would start dropping.
      maxBackpressure: maxBackpressureBytes * 4,
      closeOnBackpressureLimit: 0,

      upgrade: (res, req, context) =>
        this.guard('upgrade', () => {
          let aborted = false;
          res.onAborted(() => {
            aborted = true;
          });
          const key = req.getHeader('sec-websocket-key');
          const protocol = req.getHeader('sec-websocket-protocol');
          const extensions = req.getHeader('sec-websocket-extensions');
          const remoteAddress = remoteAddressOf(res);
          const headers = copyHeaders(req);
          void g.admit({ query: req.getQuery() ?? '', header: (name) => headers.get(name) ?? '', remoteAddress }).then((admitted) => {
            if (aborted) return;
            if (!admitted.ok) {
              res.cork(() => {
                res.writeStatus(statusLine(admitted.status));
                for (const [k, v] of admitted.headers) res.writeHeader(k, v);
                res.writeHeader('Content-Type', 'application/json; charset=utf-8').end(admitted.body);
              });
              return;
            }
            const connection = new UwsConnection(g.connectionInit(admitted), admitted, this.outbox);
            // Not inside res.cork(): with the npm build, an upgrade corked after an
            // await sometimes closed the new socket at once (1006).
            res.upgrade<SocketData>({ connection }, key, protocol, extensions, context);
          });
        }),

      // Nothing thrown in a uWS callback may escape: it would end the process.
      open: (ws) =>
        this.guard('open', () => {
          const connection = ws.getUserData().connection;
          connection.ws = ws;
          g.opened(connection, connection.admitted);
        }),

      message: (ws, message, isBinary) =>
        this.guard('message', () => {
          const connection = ws.getUserData().connection;
          if (message.byteLength > maxFrameBytes) {
            connection.logger.info({ bytes: message.byteLength }, 'frame over the limit; closing');
            connection.close(CLOSE.MESSAGE_TOO_BIG, 'Frame too large');
            return;
          }
          // uWS has validated a text frame's UTF-8 already (it drops invalid ones itself).
          g.realtime.onFrame(connection, isBinary ? null : Buffer.from(message).toString('utf8'));
        }),

      close: (ws) =>
        this.guard('close', () => {
          const connection = ws.getUserData().connection;
          connection.gone = true;
          g.closed(connection);
        }),
    });
  }

  private guard(what: string, work: () => void): void {
    try {
      work();
    } catch (error) {
      this.gateway.options.logger.error({ err: error, in: what }, 'WebSocket handler failed');
    }
  }

  private serveHttp(res: HttpResponse, req: HttpRequest): void {
    // Nothing thrown in a uWS callback may escape: it would end the process.
    try {
      const exchange: Exchange = { aborted: false, abortBody: null };
      res.onAborted(() => {
        exchange.aborted = true;
        exchange.abortBody?.();
      });
      const headers = copyHeaders(req);
      const malformed = framingError(headers);
      if (malformed) {
        // Ended inside this handler, uWS 20.30 neither closes the connection nor stops parsing, so the
        // bytes past the first length would be served as a request. Ended after it returns, the
        // connection closes; a request already pipelined behind this one makes uWS drop the connection.
        setImmediate(() => {
          if (!exchange.aborted) writeReply(res, malformed, false, true);
        });
        return;
      }
      const request = copyRequest(res, req, headers, this.gateway.bodyLimit(req.getMethod().toUpperCase(), req.getUrl(), req.getQuery() ?? ''), exchange);
      void this.gateway.handleHttp(request).then((reply) => {
        if (!exchange.aborted) writeReply(res, reply, request.method === 'HEAD');
      });
    } catch (error) {
      this.gateway.options.logger.error({ err: error }, 'request failed before it reached a handler');
      res.cork(() => res.writeStatus('500 Internal Server Error').end('{"error":{"code":"INTERNAL","message":"Internal server error"}}'));
    }
  }
}

/** One request's fate: uWS allows a single abort handler per response, and the body reader needs it too. */
interface Exchange {
  aborted: boolean;
  /** Settles a body still being read when the client hangs up (uWS then never calls `onData` again). */
  abortBody: (() => void) | null;
}

function copyHeaders(req: HttpRequest): Map<string, string> {
  const headers = new Map<string, string>();
  req.forEach((key, value) => headers.set(key, headers.has(key) ? `${headers.get(key)}, ${value}` : value));
  return headers;
}

const remoteAddressOf = (res: HttpResponse): string => Buffer.from(res.getRemoteAddressAsText()).toString();

/**
 * RFC 9112 6.3: a request whose length is ambiguous (Content-Length repeated or not a number, or
 * beside Transfer-Encoding) is refused and its connection closed, so none of its bytes can be read
 * as another request. uWS takes the first of two Content-Length headers; its parser drops the other
 * cases itself, checked here as well for builds that do not. Repeated headers arrive joined by ", ".
 */
function framingError(headers: Map<string, string>): HttpReply | null {
  const length = headers.get('content-length');
  if (length === undefined || (/^\d+$/.test(length) && !headers.has('transfer-encoding'))) return null;
  return errorReply({
    code: 'MALFORMED_REQUEST',
    message: 'The request body has no single length (Content-Length repeated, invalid or with Transfer-Encoding)',
  });
}

/** Copies what the gateway may read and starts reading the body, all before the handler returns. */
function copyRequest(res: HttpResponse, req: HttpRequest, headers: Map<string, string>, maxBodyBytes: number, exchange: Exchange): GatewayRequest {
  const method = req.getMethod().toUpperCase();
  const body = readBody(res, headers, maxBodyBytes, exchange);
  body.catch(() => undefined); // a handler that never reads the body must not leave a rejection unhandled
  return {
    method,
    path: req.getUrl(),
    query: req.getQuery() ?? '',
    header: (name) => headers.get(name) ?? '',
    remoteAddress: remoteAddressOf(res),
    body: () => body,
  };
}

function readBody(res: HttpResponse, headers: Map<string, string>, max: number, exchange: Exchange): Promise<Buffer> {
  const declared = Number(headers.get('content-length') ?? 0);
  const chunked = (headers.get('transfer-encoding') ?? '').includes('chunked');
  if (!chunked && !(declared > 0)) return Promise.resolve(Buffer.alloc(0));
  if (declared > max) return Promise.reject(new BodyTooLargeError());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    exchange.abortBody = () => {
      if (settled) return;
      settled = true;
      chunks.length = 0;
      reject(new ClientGoneError());
    };
    res.onData((chunk, isLast) => {
      if (settled) return;
      size += chunk.byteLength;
      if (size > max) {
        settled = true;
        reject(new BodyTooLargeError());
        return;
      }
      chunks.push(Buffer.from(new Uint8Array(chunk).slice())); // uWS neuters the chunk on return
      if (!isLast) return;
      settled = true;
      resolve(Buffer.concat(chunks));
    });
  });
}

function writeReply(res: HttpResponse, reply: HttpReply, head: boolean, close = false): void {
  const { contentType, data } = replyPayload(reply);
  res.cork(() => {
    res.writeStatus(statusLine(reply.status));
    for (const [k, v] of reply.headers ?? []) res.writeHeader(k, v);
    if (contentType) res.writeHeader('Content-Type', contentType);
    if (head) res.endWithoutBody(Buffer.byteLength(data), close);
    else res.end(data, close);
  });
}
