import type { MembershipChange, PushEvent } from '../../application/ports/broadcaster.js';
import type { Logger } from '../../application/ports/services.js';
import type { UseCases } from '../../application/use-cases.js';
import type { FanoutSink } from '../realtime/local-hub.js';
import { CorsPolicy } from './cors.js';
import { mountRestApi, type Readiness } from './rest-api.js';
import { App, us_listen_socket_close, us_socket_local_port, uwsBuild, type TemplatedApp, type us_listen_socket, type WebSocket } from './uws.js';
import { CLOSE, mountWsEndpoint, topicOf, type Connection } from './ws-endpoint.js';

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
      onOpen: (ws) => this.connections(ws.getUserData().actor.id, true).add(ws),
      onClose: (ws) => {
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

  get build(): typeof uwsBuild {
    return uwsBuild;
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

  /** Pre-serialised on purpose: one string per event, copied by uWS to every subscriber. */
  publish(conversationId: number, event: PushEvent, dataJson: string): void {
    this.app.publish(topicOf(conversationId), `{"event":"${event}","data":${dataJson}}`, false);
  }

  sendToUser(userId: number, event: PushEvent, dataJson: string): void {
    const frame = `{"event":"${event}","data":${dataJson}}`;
    for (const ws of this.byUser.get(userId) ?? []) {
      if (!ws.getUserData().closed) ws.cork(() => ws.send(frame, false));
    }
  }

  membership(change: MembershipChange): void {
    const sockets = this.byUser.get(change.userId);
    if (!sockets) return;
    const topic = topicOf(change.conversationId);
    for (const ws of sockets) {
      if (ws.getUserData().closed) continue;
      if (change.added) ws.subscribe(topic);
      else ws.unsubscribe(topic);
    }
  }

  connectedUserIds(): number[] {
    return [...this.byUser.keys()];
  }

  followedConversationIds(): number[] {
    const ids = new Set<number>();
    for (const set of this.byUser.values()) {
      for (const ws of set) for (const topic of ws.getTopics()) if (topic.startsWith('c:')) ids.add(Number(topic.slice(2)));
    }
    return [...ids];
  }

  reconcile(userId: number, conversationIds: readonly number[]): void {
    const wanted = new Set(conversationIds.map(topicOf));
    for (const ws of this.byUser.get(userId) ?? []) {
      if (ws.getUserData().closed) continue;
      for (const topic of ws.getTopics()) if (topic.startsWith('c:') && !wanted.has(topic)) ws.unsubscribe(topic);
      for (const topic of wanted) ws.subscribe(topic);
    }
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

  private connections(userId: number, create: true): Set<WebSocket<Connection>> {
    let set = this.byUser.get(userId);
    if (!set && create) this.byUser.set(userId, (set = new Set()));
    return set!;
  }
}
