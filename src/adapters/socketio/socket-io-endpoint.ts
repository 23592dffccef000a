import type { IncomingMessage } from 'node:http';
import { Server, type Socket } from 'socket.io';
import { Connection, type ConnectionInit } from '../gateway/connection.js';
import type { AddressHold, Admitted, Gateway, Refused, UpgradeRequest } from '../gateway/gateway.js';
import type { Outcome } from '../gateway/chat-events.js';
import { STATUS_TEXT } from '../gateway/http.js';
import type { SocketIoHost } from '../gateway/transport.js';
import { forwardForeignSessionOnNode, forwardingApp } from './session-forwarding.js';
import type { SessionPeers } from './session-peers.js';

export interface SocketIoEndpointOptions {
  /** @default '/socket.io/' */
  readonly path?: string;
  /**
   * How long an Engine.IO session may stay without a Socket.IO connection (its
   * CONNECT, with `auth.token` when the handshake carried none) before it is closed.
   * @default 5000
   */
  readonly connectTimeoutMs?: number;
  /**
   * The other processes of a `WORKERS=N` cluster: session ids name their
   * process, and requests for another process's session are forwarded there.
   * @default null (a single process)
   */
  readonly peers?: SessionPeers | null;
}

/** The handshake request, with what the gateway admitted (token in the handshake) or held (none yet) stashed on it. */
type HandshakeRequest = IncomingMessage & { _query?: Record<string, string>; chatAdmitted?: Admitted; chatHold?: AddressHold };

/** Engine.IO's view of a socket, as far as backpressure is concerned. */
interface EngineSocket {
  write(data: string): void;
  on(event: 'drain', listener: () => void): void;
  readonly transport: { readonly socket?: { bufferedAmount?: number; getBufferedAmount?: () => number } };
}

class SocketIoConnection extends Connection {
  readonly protocol = 'socketio' as const;
  /** Bytes handed to Engine.IO since it last flushed its buffer to the transport. */
  private pending = 0;

  constructor(
    init: ConnectionInit,
    readonly socket: Socket,
  ) {
    super(init);
    this.engine.on('drain', () => {
      this.pending = 0;
    });
  }

  private get engine(): EngineSocket {
    return this.socket.conn as unknown as EngineSocket;
  }

  /** The frame is a Socket.IO packet already encoded once for every recipient. */
  protected write(frame: string | Buffer): void {
    const packet = typeof frame === 'string' ? frame : frame.toString('utf8');
    this.pending += packet.length;
    this.engine.write(packet);
  }

  /** What Engine.IO still holds plus what its transport's socket has not sent (polling: only the former). */
  bufferedAmount(): number {
    const socket = this.engine.transport.socket;
    const transport = socket?.getBufferedAmount?.() ?? socket?.bufferedAmount ?? 0;
    return this.pending + transport;
  }

  protected end(code: number, reason: string): void {
    // Socket.IO has no close codes: the client is told why first, then disconnected.
    this.socket.emit('disconnectReason', { code, reason });
    this.socket.disconnect(true);
  }
}

/**
 * The Socket.IO protocol of the backend this one replaces, for its existing
 * clients, on whichever transport serves the port: the same events and
 * payloads as `/ws`, answered through the acknowledgement callback. The token
 * comes in the handshake (`?token=` or a bearer header: an invalid one is
 * answered 401 at once, like the `/ws` upgrade) or in the CONNECT packet's
 * `auth.token` (Socket.IO v4's way): a session without one is held against its
 * address's connection cap, serves nothing, and is closed unless a CONNECT
 * with a valid token comes within the connect timeout.
 */
export class SocketIoEndpoint {
  readonly io: Server;
  private readonly path: string;
  private readonly peers: SessionPeers | null;
  private readonly connectTimeoutMs: number;

  constructor(
    private readonly gateway: Gateway,
    options: SocketIoEndpointOptions = {},
  ) {
    const path = options.path ?? '/socket.io/';
    this.path = path;
    this.peers = options.peers ?? null;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 5_000;
    this.io = new Server({
      path,
      serveClient: false,
      maxHttpBufferSize: gateway.options.maxFrameBytes,
      // Origins are checked on every handshake by the middleware below, upgrades included.
      cors: { origin: (origin, done) => done(null, gateway.cors.allows(origin ?? '')) },
      pingInterval: 25_000,
      pingTimeout: 20_000,
      connectTimeout: this.connectTimeoutMs,
      destroyUpgrade: false,
    });
    this.io.use((socket, next) => {
      const req = socket.request as HandshakeRequest;
      if (req.chatAdmitted) return next();
      const hold = req.chatHold;
      if (!hold) return next(connectError({ code: 'UNAUTHORIZED', message: 'A valid token is required' }));
      const auth = socket.handshake.auth as { token?: unknown } | undefined;
      const token = typeof auth?.token === 'string' ? auth.token : '';
      // The held place becomes the connection's, if admitted.
      hold.release();
      void this.gateway.admit({ ...upgradeRequestOf(req), query: token ? new URLSearchParams({ token }).toString() : '' }).then((admitted) => {
        if (admitted.ok) {
          req.chatAdmitted = admitted;
          return next();
        }
        if ((socket.conn as unknown as { readyState: string }).readyState === 'open') hold.retake();
        next(connectError(errorOf(admitted)));
      });
    });
    this.io.on('connection', (socket) => this.serve(socket));
  }

  /** Serves on the transport's own server and port. */
  attach(host: SocketIoHost): void {
    // uWS drops what a socket cannot take beyond maxBackpressure (64 KiB by default), silently: set it
    // above the bound at which this endpoint disconnects a slow consumer itself, as /ws does.
    const peers = this.peers;
    const o = this.gateway.options;
    if (host.kind === 'uws') {
      // Engine.IO's routes see a request for another process's session only after it is forwarded there.
      const app = peers
        ? forwardingApp(host.app, { peers, maxBodyBytes: o.maxFrameBytes, maxBufferedBytes: o.maxBackpressureBytes, logger: o.logger })
        : host.app;
      this.io.attachApp(app, { maxBackpressure: o.maxBackpressureBytes * 4 } as Parameters<Server['attachApp']>[1]);
    } else this.io.attach(host.server);
    const engine = this.io.engine as unknown as EngineEvents & { generateId: () => string };
    if (peers) engine.generateId = () => peers.generateId();
    // The engine exists once attached; its middleware sees every HTTP request and upgrade first.
    this.io.engine.use((req: HandshakeRequest, res: unknown, next: (error?: unknown) => void) => {
      if (peers && host.kind === 'node' && forwardForeignSessionOnNode(req, res, peers)) return;
      this.gate(req, res).then(
        (pass) => pass && next(),
        (error: unknown) => next(error),
      );
    });
    // A held place is given back when its session ends, or when Engine.IO refuses the handshake after the gate.
    engine.on('connection', (socket) => {
      const hold = (socket.request as HandshakeRequest).chatHold;
      if (hold) socket.once('close', () => hold.release());
    });
    engine.on('connection_error', (error) => (error.req as HandshakeRequest).chatHold?.release());
  }

  close(): void {
    this.io.disconnectSockets(true);
    this.io.engine?.close();
  }

  /**
   * Engine.IO middleware, for every request of a new session (no `sid` yet): a
   * token in the handshake must be valid; without one, the session is held
   * until its CONNECT.
   */
  private async gate(req: HandshakeRequest, res: unknown): Promise<boolean> {
    if (req._query?.sid) return true;
    const hasToken = req._query?.token !== undefined || req.headers.authorization !== undefined;
    if (req._query?.userId !== undefined && !hasToken) {
      // The backend this one replaces trusted a bare userId; it is never honoured.
      const error = { code: 'UNAUTHORIZED', message: 'A userId without a token is not accepted; connect with auth: { token }' };
      refuse(res, 401, JSON.stringify({ error }), [['WWW-Authenticate', 'Bearer']]);
      return false;
    }
    const request = upgradeRequestOf(req);
    if (!hasToken) {
      const held = this.gateway.hold(request);
      if (!held.ok) {
        refuse(res, held.status, held.body, held.headers);
        return false;
      }
      req.chatHold = held;
      // Whatever happens to the session, the place is not held past twice its connect bound.
      setTimeout(() => held.release(), 2 * this.connectTimeoutMs).unref();
      return true;
    }
    const admitted = await this.gateway.admit(request);
    if (admitted.ok) {
      req.chatAdmitted = admitted;
      return true;
    }
    refuse(res, admitted.status, admitted.body, admitted.headers);
    return false;
  }

  private serve(socket: Socket): void {
    const g = this.gateway;
    const admitted = (socket.request as HandshakeRequest).chatAdmitted!;
    const connection = new SocketIoConnection(g.connectionInit(admitted), socket);
    g.opened(connection, admitted);
    socket.on('disconnect', () => g.closed(connection));
    socket.onAny((event: unknown, ...args: unknown[]) => {
      const callback = typeof args.at(-1) === 'function' ? (args.pop() as (answer: unknown) => void) : null;
      void g.realtime
        .dispatchEvent(connection, event, args[0])
        .then((outcome) => callback?.(toAnswer(String(event), outcome)))
        .catch((error: unknown) => {
          connection.logger.error({ err: error }, 'could not answer a Socket.IO event');
          callback?.({ success: false, error: { code: 'INTERNAL', message: 'Internal server error' } });
        });
    });
  }
}

/** Engine.IO's events this endpoint listens to. */
interface EngineEvents {
  on(event: 'connection', listener: (socket: { request: IncomingMessage; once(event: 'close', listener: () => void): void }) => void): void;
  on(event: 'connection_error', listener: (error: { req: IncomingMessage }) => void): void;
}

/** What the gateway reads of a handshake request. */
function upgradeRequestOf(req: HandshakeRequest): UpgradeRequest {
  return {
    query: new URLSearchParams(req._query ?? {}).toString(),
    header: (name) => {
      const v = req.headers[name];
      return Array.isArray(v) ? v.join(', ') : (v ?? '');
    },
    remoteAddress: req.socket?.remoteAddress ?? (req as { connection?: { remoteAddress?: string } }).connection?.remoteAddress ?? '',
  };
}

const errorOf = (refused: Refused): { code: string; message: string } => (JSON.parse(refused.body) as { error: { code: string; message: string } }).error;

/** A refused CONNECT: the client's `connect_error` carries the code in `data`. */
const connectError = (error: { code: string; message: string }): Error => Object.assign(new Error(error.message), { data: error });

/** What the original clients read: `{success, message}` for sends, `{success, data}` otherwise. */
function toAnswer(event: string, outcome: Outcome): object {
  if (!outcome.ok) return { success: false, error: outcome.error };
  return event === 'sendMessage' ? { success: true, message: outcome.data } : { success: true, data: outcome.data };
}

/** Answers a refused handshake: a Node response, a uWS response wrapper, or (Node upgrade) the raw socket. */
function refuse(res: unknown, status: number, body: string, headers: ReadonlyArray<readonly [string, string]>): void {
  const r = res as {
    writeHead?: (status: number, headers: Record<string, string>) => void;
    end: (body?: string) => void;
    socket?: { writable?: boolean; write(data: string): void; destroy(): void };
    statusCode?: number;
  };
  const all: Record<string, string> = { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': String(Buffer.byteLength(body)) };
  for (const [k, v] of headers) all[k] = v;
  if (r.socket && r.statusCode === undefined) {
    // A Node upgrade: Engine.IO's stand-in response has the socket but writes nothing itself.
    const lines = [`HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? ''}`, 'Connection: close', ...Object.entries(all).map(([k, v]) => `${k}: ${v}`)];
    if (r.socket.writable) r.socket.write(`${lines.join('\r\n')}\r\n\r\n${body}`);
    r.socket.destroy();
    return;
  }
  r.writeHead?.(status, all);
  r.end(body);
}
