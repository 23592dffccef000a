import type { Actor } from '../../domain/user.js';
import type { Logger } from '../../application/ports/services.js';
import type { UseCases } from '../../application/use-cases.js';
import type { Connection } from './connection.js';
import { ConnectionRegistry } from './connection-registry.js';
import { CorsPolicy } from './cors.js';
import { bearer, type HttpHeaders, type HttpReply, type HttpRequest } from './http.js';
import { HttpRouter, type PlainRoute, type Readiness } from './http-router.js';
import { RealtimeEndpoint } from './realtime-endpoint.js';
import { restRoutes } from './rest-routes.js';
import { fromThrown, HTTP_STATUS, type WireError } from './wire-error.js';

export interface GatewayOptions {
  /** Largest WebSocket frame or Socket.IO packet; larger ones close the connection with 1009. */
  readonly maxFrameBytes: number;
  /** Largest REST request body (413 beyond). */
  readonly maxBodyBytes: number;
  readonly idleTimeoutSeconds: number;
  /** Bytes queued for one slow connection before it is closed with 4008. */
  readonly maxBackpressureBytes: number;
  /** Events per second per connection, 0 for no limit. */
  readonly ratePerSecond: number;
  readonly rateBurst: number;
  readonly maxInFlightPerConnection: number;
  /** Allowed browser origins; empty allows any. */
  readonly corsOrigins: readonly string[];
  readonly logger: Logger;
  readonly ready: () => Promise<Readiness>;
  readonly plainRoutes?: readonly PlainRoute[];
}

/** What a transport knows of an upgrade request, copied out before any await. */
export interface UpgradeRequest {
  readonly query: string;
  header(name: string): string;
  readonly remoteAddress: string;
}

/** An upgrade let through: the transport completes it, then calls `opened` with its connection. */
export interface Admitted {
  readonly ok: true;
  readonly actor: Actor;
  readonly conversationIds: readonly number[];
  readonly mark: number;
}

export interface Refused {
  readonly ok: false;
  readonly status: number;
  readonly headers: HttpHeaders;
  readonly body: string;
}

/**
 * The transport-neutral core every transport drives: the REST router, the
 * realtime protocol, the registry of connections and the upgrade's checks.
 * A transport only translates its server's I/O into these calls.
 */
export class Gateway {
  readonly registry: ConnectionRegistry;
  readonly realtime: RealtimeEndpoint;
  readonly http: HttpRouter;
  readonly cors: CorsPolicy;
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(
    private readonly useCases: UseCases,
    /** Built before the gateway: fan-out delivers through it. */
    registry: ConnectionRegistry,
    readonly options: GatewayOptions,
  ) {
    this.cors = new CorsPolicy(options.corsOrigins);
    const track = <T>(work: Promise<T>): Promise<T> => this.track(work);
    this.registry = registry;
    this.realtime = new RealtimeEndpoint(useCases, {
      maxInFlight: options.maxInFlightPerConnection,
      maxBufferedBytes: options.maxBackpressureBytes,
      track,
    });
    this.http = new HttpRouter(useCases, restRoutes(useCases), {
      cors: this.cors,
      logger: options.logger,
      ready: options.ready,
      track,
      ...(options.plainRoutes ? { plainRoutes: options.plainRoutes } : {}),
    });
  }

  /** Counts work in flight, so shutdown can wait for it. */
  track<T>(work: Promise<T>): Promise<T> {
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work)).catch(() => undefined);
    return work;
  }

  handleHttp(request: HttpRequest): Promise<HttpReply> {
    return this.http.handle(request);
  }

  /**
   * The checks of a `/ws` upgrade: origin, then a token (`?token=` or a bearer
   * header) of an active user. Never rejects.
   */
  admit(request: UpgradeRequest): Promise<Admitted | Refused> {
    if (!this.cors.allows(request.header('origin'))) {
      return Promise.resolve(refusal({ code: 'ORIGIN_NOT_ALLOWED', message: 'This origin is not allowed' }));
    }
    const token = new URLSearchParams(request.query).get('token') ?? bearer(request.header('authorization'));
    const mark = this.registry.mark();
    return this.track(
      this.useCases.openConnection.execute(token).then(
        (opened): Admitted | Refused =>
          opened.ok ? { ok: true, actor: opened.value.actor, conversationIds: opened.value.conversationIds, mark } : refusal(opened.error),
        (error: unknown) => {
          this.options.logger.error({ err: error }, 'upgrade failed');
          return refusal(fromThrown(error));
        },
      ),
    );
  }

  /** A connection is open: it receives its user's conversations from now on. */
  opened(connection: Connection, admitted: Admitted): void {
    this.registry.add(connection, admitted.conversationIds, admitted.mark);
  }

  closed(connection: Connection): void {
    connection.closed = true;
    this.registry.remove(connection);
  }

  /** Waits (bounded) for requests and events already being handled. */
  async settle(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.inFlight.size > 0 && Date.now() < deadline) {
      await Promise.race([Promise.allSettled([...this.inFlight]), new Promise((r) => setTimeout(r, deadline - Date.now()))]);
    }
  }
}

const refusal = (error: WireError): Refused => ({
  ok: false,
  status: HTTP_STATUS[error.code],
  headers: error.code === 'UNAUTHORIZED' ? [['WWW-Authenticate', 'Bearer']] : [],
  body: JSON.stringify({ error }),
});
