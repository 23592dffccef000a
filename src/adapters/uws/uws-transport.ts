import type { MembershipChange, PushEvent } from '../../application/ports/broadcaster.js';
import type { Logger } from '../../application/ports/services.js';
import type { UseCases } from '../../application/use-cases.js';
import type { FanoutSink } from '../realtime/local-hub.js';
import { CorsPolicy } from './cors.js';
import { mountRestApi, type Readiness } from './rest-api.js';
import { App, us_listen_socket_close, us_socket_local_port, type TemplatedApp, type us_listen_socket, type WebSocket } from './uws.js';
import { Followers } from './followers.js';
import { CLOSE, mountWsEndpoint, type Connection } from './ws-endpoint.js';

export interface UwsTransportOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** Largest WebSocket frame accepted; larger ones close the connection with 1009. @default 65536 */
  readonly maxFrameBytes: number;
  /** Largest REST request body. @default 65536 */
  readonly maxBodyBytes: number;
  /** @default 120 */
  readonly idleTimeoutSeconds: number;
  /** Bytes queued for one slow connection before it is closed. @default 1 MiB */
  readonly maxBackpressureBytes: number;
  /** Events per second per connection, 0 for no limit. */
  readonly ratePerSecond: number;
  readonly rateBurst: number;
  readonly maxInFlightPerConnection: number;
  /** Allowed browser origins; empty allows any. */
  readonly corsOrigins: readonly string[];
  readonly logger: Logger;
  readonly ready: () => Promise<Readiness>;
}

/**
 * uWebSockets.js: the REST API and the /ws protocol on one app and port, and
 * this process's fan-out to its connections through per-conversation topics.
 */
export class UwsTransport implements FanoutSink {
  readonly app: TemplatedApp;
  private listenSocket: us_listen_socket | null = null;
  private readonly byUser = new Map<number, Set<WebSocket<Connection>>>();
  private readonly followers = new Followers<WebSocket<Connection>>();
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(
    useCases: UseCases,
    private readonly options: UwsTransportOptions,
  ) {
    this.app = App();
    const cors = new CorsPolicy(options.corsOrigins);
    const track = <T>(work: Promise<T>): Promise<T> => this.track(work);
    mountWsEndpoint(this.app, useCases, {
      maxFrameBytes: options.maxFrameBytes,
      idleTimeoutSeconds: options.idleTimeoutSeconds,
      maxBackpressureBytes: options.maxBackpressureBytes,
      ratePerSecond: options.ratePerSecond,
      rateBurst: options.rateBurst,
      maxInFlight: options.maxInFlightPerConnection,
      cors,
      logger: options.logger,
      track,
      onOpen: (ws) => {
        const conn = ws.getUserData();
        this.connectionsOf(conn.actor.id).add(ws);
        for (const id of conn.conversationIds) this.followers.follow(ws, id);
      },
      onClose: (ws) => {
        this.followers.drop(ws);
        const userId = ws.getUserData().actor.id;
        const set = this.byUser.get(userId);
        set?.delete(ws);
        if (set?.size === 0) this.byUser.delete(userId);
      },
    });
    mountRestApi(this.app, useCases, { maxBodyBytes: options.maxBodyBytes, cors, logger: options.logger, ready: options.ready, track });
  }

  /** Counts work in flight, so shutdown can wait for it (other transports on this app use it too). */
  track<T>(work: Promise<T>): Promise<T> {
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work)).catch(() => undefined);
    return work;
  }

  get connectionCount(): number {
    let n = 0;
    for (const set of this.byUser.values()) n += set.size;
    return n;
  }

  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.app.listen(this.options.host, this.options.port, (socket) => {
        if (!socket) return reject(new Error(`Cannot listen on ${this.options.host}:${this.options.port}`));
        this.listenSocket = socket;
        resolve(us_socket_local_port(socket));
      });
    });
  }

  /**
   * Hot path, written for speed: the frame is serialised and encoded once, then
   * handed to each follower. Sending per follower (rather than through uWS
   * topics) lets the transport see each connection's backlog and close a slow
   * consumer with 4008 instead of uWS silently skipping it.
   */
  publish(conversationId: number, event: PushEvent, dataJson: string): void {
    const followers = this.followers.of(conversationId);
    if (followers.size === 0) return;
    const frame = Buffer.from(`{"event":"${event}","data":${dataJson}}`);
    for (const ws of followers) this.push(ws, frame);
  }

  /** A consumer that falls too far behind is disconnected, never silently skipped. */
  private push(ws: WebSocket<Connection>, frame: Buffer): void {
    const conn = ws.getUserData();
    if (conn.closed) return;
    ws.cork(() => ws.send(frame, false));
    if (ws.getBufferedAmount() > this.options.maxBackpressureBytes) {
      conn.logger.warn({ buffered: ws.getBufferedAmount() }, 'slow consumer; closing');
      conn.closed = true;
      ws.end(CLOSE.SLOW_CONSUMER, 'Too slow to keep up');
    }
  }

  sendToUser(userId: number, event: PushEvent, dataJson: string): void {
    const frame = Buffer.from(`{"event":"${event}","data":${dataJson}}`);
    for (const ws of this.byUser.get(userId) ?? []) this.push(ws, frame);
  }

  membership(change: MembershipChange): void {
    const sockets = this.byUser.get(change.userId);
    if (!sockets) return;
    for (const ws of sockets) {
      if (ws.getUserData().closed) continue;
      if (change.added) this.followers.follow(ws, change.conversationId);
      else this.followers.unfollow(ws, change.conversationId);
    }
  }

  connectedUserIds(): number[] {
    return [...this.byUser.keys()];
  }

  followedConversationIds(): number[] {
    return this.followers.conversationIds();
  }

  reconcile(userId: number, conversationIds: readonly number[]): void {
    for (const ws of this.byUser.get(userId) ?? []) if (!ws.getUserData().closed) this.followers.set(ws, conversationIds);
  }

  /** Stops accepting connections and requests; open ones stay until `closeConnections`. */
  stopListening(): void {
    if (this.listenSocket) us_listen_socket_close(this.listenSocket);
    this.listenSocket = null;
  }

  /** Waits (bounded) for requests and events already being handled. */
  async settle(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.inFlight.size > 0 && Date.now() < deadline) {
      await Promise.race([Promise.allSettled([...this.inFlight]), new Promise((r) => setTimeout(r, deadline - Date.now()))]);
    }
  }

  closeConnections(): void {
    for (const set of [...this.byUser.values()]) {
      for (const ws of [...set]) if (!ws.getUserData().closed) ws.end(CLOSE.GOING_AWAY, 'Server shutting down');
    }
  }

  private connectionsOf(userId: number): Set<WebSocket<Connection>> {
    let set = this.byUser.get(userId);
    if (!set) this.byUser.set(userId, (set = new Set()));
    return set;
  }
}
