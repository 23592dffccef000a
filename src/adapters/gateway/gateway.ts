import type { Actor } from '../../domain/user.js';
import type { Logger } from '../../application/ports/services.js';
import type { Telemetry } from '../../application/ports/telemetry.js';
import type { UseCases } from '../../application/use-cases.js';
import type { Connection, ConnectionInit } from './connection.js';
import { type ConnectionRegistry } from './connection-registry.js';
import { CorsPolicy } from './cors.js';
import { bearer, retryAfterOf, type HttpHeaders, type HttpReply, type HttpRequest } from './http.js';
import { HttpRouter, type AccessLogLevel, type PlainRoute, type Readiness } from './http-router.js';
import { clientAddress, RequestLimits, type RequestLimitsOptions } from './rate-limits.js';
import { RealtimeEndpoint } from './realtime-endpoint.js';
import { routeTable } from './route-table.js';
import { bodyLimitOf, type BodyLimits } from './file-routes.js';
import type { FileStorage } from '../../application/ports/uploads.js';
import type { ManageWebhooks } from '../../application/webhooks/manage-webhooks.js';
import type { People } from '../../application/people/people.js';
import { asyncApiDocument, openApiDocument } from './api-documents.js';
import { fromThrown, HTTP_STATUS, type WireError } from './wire-error.js';

export interface GatewayOptions {
  /** The product's version, in the API documents. */
  readonly version: string;
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
  /** Staff's management of webhook endpoints (its routes are in the route table). */
  readonly webhooks: ManageWebhooks;
  /** Directory, profiles, blocks, reports and moderation (their routes are in the route table). */
  readonly people: People;
  /** Where uploaded files are kept (served by `GET /files/:id`), and how large an upload's bytes may be, on a valid upload URL. */
  readonly files: { readonly storage: FileStorage } & Pick<BodyLimits, 'maxUploadBytes' | 'uploadUrlValid'>;
  /** Per-IP and per-user REST limits; null turns them off (RATE_LIMITS=off). */
  readonly requestLimits: RequestLimitsOptions | null;
  /** Open connections one user may hold on this process (0: no cap). */
  readonly maxConnectionsPerUser: number;
  /** Open connections one client address may hold on this process (0: no cap). */
  readonly maxConnectionsPerAddress: number;
  /** Upgrades being checked at once; beyond it they are answered 503 with Retry-After at once. */
  readonly maxUpgradesInFlight: number;
  /** Proxies in front whose X-Forwarded-For is trusted (0: the peer address is the client's). */
  readonly trustProxyHops: number;
  /** The transport's name, for metrics. */
  readonly transportName: string;
  readonly telemetry: Telemetry;
  /** The level of REST access log lines (`silent`: none). */
  readonly accessLogLevel: AccessLogLevel;
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
  readonly sessionId: string | null;
  /** The client's address (behind trusted proxies, the one they saw). */
  readonly clientAddress: string;
  readonly conversationIds: readonly number[];
  readonly mark: number;
}

/** A client address's place, held by a session that has not authenticated yet. */
export interface AddressHold {
  readonly ok: true;
  readonly clientAddress: string;
  /** Gives the place back (idempotent). */
  release(): void;
  /** Takes it again, without the cap check (the session held it before). */
  retake(): void;
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
  private upgradesInFlight = 0;
  private readonly pendingByAddress = new Map<string, number>();
  private refusedUpgrades = 0;
  private refusalLog: NodeJS.Timeout | null = null;

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
      telemetry: options.telemetry,
    });
    const routes = routeTable(useCases, options.webhooks, options.people, options.files.storage);
    const documents: PlainRoute[] = [
      { method: 'GET', path: '/openapi.json', handle: once(() => ({ status: 200, body: openApiDocument(routes, { version: options.version }) })) },
      { method: 'GET', path: '/asyncapi.json', handle: once(() => ({ status: 200, body: asyncApiDocument({ version: options.version }) })) },
    ];
    this.http = new HttpRouter(useCases, routes, {
      cors: this.cors,
      logger: options.logger,
      ready: options.ready,
      track,
      limits: options.requestLimits ? new RequestLimits(options.requestLimits) : null,
      telemetry: options.telemetry,
      trustProxyHops: options.trustProxyHops,
      accessLogLevel: options.accessLogLevel,
      plainRoutes: [...documents, ...(options.plainRoutes ?? [])],
    });
  }

  /** The largest body the transport reads for a request (an upload's bytes may be larger than other bodies). */
  bodyLimit(method: string, path: string, query: string): number {
    const { maxUploadBytes, uploadUrlValid } = this.options.files;
    return bodyLimitOf(method, path, query, { maxBodyBytes: this.options.maxBodyBytes, maxUploadBytes, uploadUrlValid });
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

  /** Upgrades refused for load since start-up (for metrics). */
  get upgradesRefused(): number {
    return this.refusedUpgrades;
  }

  /**
   * The checks of an upgrade (`/ws`, or a Socket.IO handshake), cheapest
   * first: origin, load, the client address's connections, then the token
   * (`?token=` or a bearer header) of an active user, then that user's
   * connections. Never rejects.
   */
  admit(request: UpgradeRequest): Promise<Admitted | Refused> {
    const o = this.options;
    const address = clientAddress(request.remoteAddress, request.header('x-forwarded-for'), o.trustProxyHops);
    if (!this.cors.allows(request.header('origin'), request.header('host'))) {
      o.telemetry.upgradeRefused('origin');
      return Promise.resolve(refusal({ code: 'ORIGIN_NOT_ALLOWED', message: 'This origin is not allowed' }));
    }
    if (this.upgradesInFlight >= o.maxUpgradesInFlight) return Promise.resolve(this.overloaded());
    const pending = this.pendingByAddress.get(address) ?? 0;
    if (o.maxConnectionsPerAddress > 0 && this.registry.connectionsFrom(address) + pending >= o.maxConnectionsPerAddress) {
      o.telemetry.upgradeRefused('connections-per-address');
      o.telemetry.limited('connections-per-address');
      return Promise.resolve(tooMany(`At most ${o.maxConnectionsPerAddress} connections per address`));
    }
    const token = new URLSearchParams(request.query).get('token') ?? bearer(request.header('authorization'));
    const mark = this.registry.mark();
    this.upgradesInFlight += 1;
    this.pendingByAddress.set(address, pending + 1);
    const done = () => {
      this.upgradesInFlight -= 1;
      const left = (this.pendingByAddress.get(address) ?? 1) - 1;
      if (left > 0) this.pendingByAddress.set(address, left);
      else this.pendingByAddress.delete(address);
    };
    return this.track(
      this.useCases.openConnection.execute(token).then(
        (opened): Admitted | Refused | Promise<Admitted> => {
          done();
          if (!opened.ok) {
            o.telemetry.upgradeRefused('unauthorized');
            return refusal(opened.error);
          }
          const { actor, sessionId, conversationIds } = opened.value;
          if (o.maxConnectionsPerUser > 0 && this.registry.connectionsOf(actor.id).size >= o.maxConnectionsPerUser) {
            o.telemetry.upgradeRefused('connections-per-user');
            o.telemetry.limited('connections-per-user');
            return tooMany(`At most ${o.maxConnectionsPerUser} connections per user`);
          }
          const admitted: Admitted = { ok: true, actor, sessionId, conversationIds, mark, clientAddress: address };
          // Messages committed from here on reach the connection, whichever process writes them.
          return this.registry.prepare(conversationIds).then(() => admitted);
        },
        (error: unknown) => {
          done();
          o.telemetry.upgradeRefused('error');
          o.logger.error({ err: error }, 'upgrade failed');
          return refusal(fromThrown(error));
        },
      ),
    );
  }

  /**
   * A session that has not authenticated yet (a Socket.IO handshake without a
   * token, waiting for its CONNECT): the origin and the client address's
   * connection cap are checked, and the hold counts against that cap until
   * released (authenticated or closed).
   */
  hold(request: UpgradeRequest): AddressHold | Refused {
    const o = this.options;
    const address = clientAddress(request.remoteAddress, request.header('x-forwarded-for'), o.trustProxyHops);
    if (!this.cors.allows(request.header('origin'))) {
      o.telemetry.upgradeRefused('origin');
      return refusal({ code: 'ORIGIN_NOT_ALLOWED', message: 'This origin is not allowed' });
    }
    const pending = this.pendingByAddress.get(address) ?? 0;
    if (o.maxConnectionsPerAddress > 0 && this.registry.connectionsFrom(address) + pending >= o.maxConnectionsPerAddress) {
      o.telemetry.upgradeRefused('connections-per-address');
      o.telemetry.limited('connections-per-address');
      return tooMany(`At most ${o.maxConnectionsPerAddress} connections per address`);
    }
    let held = false;
    const change = (by: 1 | -1) => {
      held = by === 1;
      const left = (this.pendingByAddress.get(address) ?? 0) + by;
      if (left > 0) this.pendingByAddress.set(address, left);
      else this.pendingByAddress.delete(address);
    };
    change(1);
    return {
      ok: true,
      clientAddress: address,
      release: () => held && change(-1),
      retake: () => !held && change(1),
    };
  }

  /** Over the in-flight bound: answered at once, with a jittered time to come back, never left to time out. */
  private overloaded(): Refused {
    this.refusedUpgrades += 1;
    this.options.telemetry.upgradeRefused('overloaded');
    this.refusalLog ??= setTimeout(() => {
      this.refusalLog = null;
      this.options.logger.warn(
        { refusedUpgrades: this.refusedUpgrades, maxUpgradesInFlight: this.options.maxUpgradesInFlight },
        'upgrades refused under load (503)',
      );
    }, 1_000);
    this.refusalLog.unref();
    const retry = 1 + Math.floor(Math.random() * 4);
    return refusal({ code: 'OVERLOADED', message: 'Too many connections are being opened; retry shortly', details: { retry_after_seconds: retry } });
  }

  /** What every transport's connection is made of, for an admitted upgrade. */
  connectionInit(admitted: Admitted): ConnectionInit {
    const o = this.options;
    return {
      actor: admitted.actor,
      sessionId: admitted.sessionId,
      remoteAddress: admitted.clientAddress,
      ratePerSecond: o.ratePerSecond,
      rateBurst: o.rateBurst,
      logger: o.logger,
      telemetry: o.telemetry,
    };
  }

  /** A connection is open: it receives its user's conversations from now on. */
  opened(connection: Connection, admitted: Admitted): void {
    this.options.telemetry.connectionOpened(this.options.transportName, connection.protocol);
    this.registry.add(connection, admitted.conversationIds, admitted.mark);
  }

  closed(connection: Connection): void {
    this.options.telemetry.connectionClosed(this.options.transportName, connection.protocol);
    connection.closed = true;
    this.registry.remove(connection);
  }

  /**
   * Shutdown: refuses new events and requests from here on (`SERVICE_UNAVAILABLE`), then waits,
   * bounded, for those already being handled.
   */
  async settle(timeoutMs: number): Promise<void> {
    this.realtime.draining = true;
    this.http.draining = true;
    const deadline = Date.now() + timeoutMs;
    while (this.inFlight.size > 0 && Date.now() < deadline) {
      await Promise.race([Promise.allSettled([...this.inFlight]), new Promise((r) => setTimeout(r, deadline - Date.now()))]);
    }
  }
}

const refusal = (error: WireError): Refused => {
  const retry = retryAfterOf(error);
  return {
    ok: false,
    status: HTTP_STATUS[error.code],
    headers: [
      ...(error.code === 'UNAUTHORIZED' ? [['WWW-Authenticate', 'Bearer'] as const] : []),
      ...(retry === null ? [] : [['Retry-After', String(retry)] as const]),
    ],
    body: JSON.stringify({ error }),
  };
};

const tooMany = (message: string): Refused => refusal({ code: 'TOO_MANY_CONNECTIONS', message, details: { retry_after_seconds: 30 } });

/** Built on first use, then the same reply. */
function once<T>(build: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= build());
}
