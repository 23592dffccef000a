import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type { Logger } from '../application/ports/services.js';
import { CLOSE } from '../adapters/gateway/connection.js';
import type { ConnectionRegistry } from '../adapters/gateway/connection-registry.js';
import { Gateway } from '../adapters/gateway/gateway.js';
import type { Transport } from '../adapters/gateway/transport.js';
import { NodeTransport } from '../adapters/node-http/node-transport.js';
import { SocketIoEndpoint } from '../adapters/socketio/socket-io-endpoint.js';
import { SessionPeers } from '../adapters/socketio/session-peers.js';
import { UwsTransport } from '../adapters/uws/uws-transport.js';
import { metricsRoute, processMetrics, shareWithSupervisor, startMetricsServer, type MetricsServer } from '../adapters/metrics/metrics-endpoint.js';
import { PromTelemetry } from '../adapters/metrics/prom-telemetry.js';
import { webClientRoutes } from '../adapters/web-client/web-client-routes.js';
import { webFileOrigins } from './web-file-origins.js';
import type { Config } from './config.js';
import {
  buildContainer,
  connectionsModule,
  coreModule,
  fanoutModule,
  postgresModule,
  pushModule,
  realtimeModule,
  resolve,
  useCasesModule,
} from './container.js';
import { checkOutboundUrl } from '../adapters/outbound/outbound-url.js';
import { hostAllowed, hostPatterns } from '../adapters/outbound/host-allowlist.js';
import { outboundRequest } from '../adapters/outbound/outbound-request.js';
import { offlineNotices } from './push.js';
import { vapidKeys } from './vapid-keys.js';
import { openServerDatabase } from './database.js';
import { BROKERS, databaseNotices, type BrokerContext } from './fanout.js';
import { jwtSecret } from './jwt-secret.js';
import { joinPeerDirectory, workerTag } from './cluster-peers.js';
import { TOKENS } from './tokens.js';
import { PRODUCT_VERSION } from './version.js';
import { chooseTransport, type TransportChoice } from './transport-choice.js';
import { startWebhooks } from './webhooks.js';
import { buildPeople } from './people.js';
import { collectUploads } from './files.js';
import { useFileLinks } from '../application/files/attachment-links.js';

export interface RunningServer {
  readonly port: number;
  readonly databaseUrl: string;
  readonly transport: Transport;
  readonly gateway: Gateway;
  /** Graceful: stop accepting, finish in-flight work, close sockets with 1001, close the pools, stop the embedded database. */
  stop(): Promise<void>;
}

export async function startServer(config: Config, logger: Logger, choice: TransportChoice = chooseTransport(config.TRANSPORT)): Promise<RunningServer> {
  const db = await openServerDatabase(config, logger);
  const telemetry = new PromTelemetry();
  const collect = processMetrics(telemetry.registry);
  const nodeId = `${os.hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  const vapid = await vapidKeys(config);
  const pushHosts = hostPatterns(config.PUSH_ALLOWED_HOSTS);
  const checkEndpoint = (endpoint: string) => {
    const checked = checkOutboundUrl(endpoint, config.OUTBOUND_ALLOW_PRIVATE);
    if (!checked.ok) return checked.reason;
    return hostAllowed(checked.url, pushHosts) ? null : `must be on a push service this server allows (PUSH_ALLOWED_HOSTS)`;
  };
  const brokers: BrokerContext = { config, logger, nodeId, databaseUrl: db.url, pool: db.pool };
  const container = buildContainer(
    coreModule(config, logger, await jwtSecret(config), telemetry),
    postgresModule(config, { db, nodeId }),
    connectionsModule(config),
    fanoutModule(config, {
      nodeId,
      lanes: db.lanes,
      lanePositions: db.lanePositions,
      broker: await BROKERS[config.FANOUT](brokers),
      notices: databaseNotices(brokers),
    }),
    realtimeModule(config),
    pushModule(vapid.publicKey, checkEndpoint),
    useCasesModule(config),
  );
  const registry = resolve(container, TOKENS.LocalDelivery) as ConnectionRegistry;
  const fanout = resolve(container, TOKENS.FanoutEngine);
  try {
    await fanout.start();
  } catch (error) {
    await db.close();
    throw error;
  }
  const presence = resolve(container, TOKENS.PresenceTracker);
  await presence.start();
  registry.observe(presence);
  const notices = offlineNotices({
    config,
    databaseUrl: db.url,
    sequelize: db.sequelize,
    presence: resolve(container, TOKENS.PresenceStore),
    vapid,
    // Checked again when sending: a subscription stored before the list changed goes nowhere else.
    post: (url, request) =>
      checkEndpoint(url) === null
        ? outboundRequest(url, { ...request, allowPrivate: config.OUTBOUND_ALLOW_PRIVATE })
        : Promise.resolve({ ok: false, failure: 'refused-url', message: 'not on PUSH_ALLOWED_HOSTS' }),
    logger,
    telemetry,
  });
  notices.start();

  const useCases = resolve(container, TOKENS.UseCases);
  const files = resolve(container, TOKENS.Files);
  useFileLinks(files.links);
  const uploadsGc = collectUploads(config, resolve(container, TOKENS.UploadRepository), files.storage, logger);
  const webhooks = await startWebhooks(config, db, telemetry, logger);
  let transport: Transport | null = null;
  let metrics: MetricsServer | null = null;
  const limitsOn = config.RATE_LIMITS === 'on';
  if (!limitsOn)
    logger.warn(
      'RATE_LIMITS=off: no per-IP or per-user request limits and no connection caps (the per-account login lockout stays on); for benchmarks on a trusted network only',
    );
  const gateway = new Gateway(useCases, registry, {
    version: PRODUCT_VERSION,
    maxFrameBytes: config.MAX_FRAME_BYTES,
    maxBodyBytes: config.MAX_BODY_BYTES,
    idleTimeoutSeconds: config.WS_IDLE_TIMEOUT_SECONDS,
    maxBackpressureBytes: config.WS_MAX_BACKPRESSURE_BYTES,
    ratePerSecond: limitsOn ? config.RATE_LIMIT_PER_SECOND : 0,
    rateBurst: config.RATE_LIMIT_BURST,
    maxInFlightPerConnection: config.WS_MAX_IN_FLIGHT,
    corsOrigins: config.CORS_ORIGINS,
    logger,
    requestLimits: limitsOn
      ? {
          loginPerIp: config.LOGIN_PER_IP_PER_MINUTE,
          registerPerIp: config.REGISTER_PER_IP_PER_MINUTE,
          restSendsPerUser: config.REST_SENDS_PER_USER_PER_MINUTE,
          conversationsPerUser: config.CONVERSATIONS_PER_USER_PER_MINUTE,
          passwordResetPerIp: config.PASSWORD_RESETS_PER_IP_PER_MINUTE,
          searchesPerUser: config.SEARCHES_PER_USER_PER_MINUTE,
          directoryPerUser: config.DIRECTORY_PER_USER_PER_MINUTE,
          reportsPerUserPerHour: config.REPORTS_PER_USER_PER_HOUR,
        }
      : null,
    maxConnectionsPerUser: limitsOn ? config.MAX_CONNECTIONS_PER_USER : 0,
    maxConnectionsPerAddress: limitsOn ? config.MAX_CONNECTIONS_PER_ADDRESS : 0,
    maxUpgradesInFlight: config.UPGRADE_MAX_IN_FLIGHT,
    trustProxyHops: config.TRUST_PROXY_HOPS,
    transportName: choice.kind,
    telemetry,
    accessLogLevel: config.ACCESS_LOG_LEVEL,
    webhooks: webhooks.manage,
    people: buildPeople(config, db.pool, container),
    files: {
      storage: files.storage,
      maxUploadBytes: config.UPLOAD_MAX_BYTES,
      uploadUrlValid: (id, expires, signature) => files.links.check('upload', id, expires, signature) === 'ok',
    },
    plainRoutes: [
      ...(config.WEB_CLIENT_ENABLED ? webClientRoutes({ logger, fileOrigins: webFileOrigins(config) }) : []),
      ...(config.METRICS_TOKEN ? [metricsRoute(config.METRICS_TOKEN, collect)] : []),
    ],
    ready: async () => {
      const database = await db.check();
      return {
        ready: database === 'up' && fanout.live,
        details: {
          database,
          transport: { name: transport?.name, build: transport?.build },
          node: nodeId,
          write_lanes: db.lanes,
          fanout: fanout.state,
          // Informational: an unavailable metrics port never makes the server unready.
          ...(metrics ? { metrics_port: metrics.status } : {}),
        },
      };
    },
  });
  transport =
    choice.kind === 'uws'
      ? new UwsTransport(choice.build, gateway, { host: config.HOST, port: config.PORT })
      : new NodeTransport(gateway, { host: config.HOST, port: config.PORT });
  logger.info(
    { transport: transport.name, build: transport.build, reason: choice.reason, node: process.version },
    `transport: ${transport.name} (${transport.build})`,
  );

  let socketIo: SocketIoEndpoint | null = null;
  if (config.SOCKETIO_ENABLED) {
    // A cluster's worker: its Engine.IO sessions are named after it and reachable from the other workers.
    const slot = process.env.CHAT_WORKER ? process.env.WORKER_SLOT : undefined;
    const peers = slot !== undefined && config.WORKERS > 1 ? new SessionPeers(workerTag(slot)) : null;
    socketIo = new SocketIoEndpoint(gateway, { peers, connectTimeoutMs: config.SOCKETIO_CONNECT_TIMEOUT_MS });
    socketIo.attach(transport.socketIoHost);
    if (peers) joinPeerDirectory(await transport.listenLoopback(), (directory) => peers.update(directory));
  }
  const port = await transport.listen();
  // Workers answer their supervisor, which serves the whole cluster's metrics; a lone process serves its own.
  if (process.env.CHAT_WORKER) shareWithSupervisor(telemetry.registry);
  else if (config.METRICS_PORT) metrics = await startMetricsServer({ host: config.METRICS_HOST, port: config.METRICS_PORT, collect, logger });
  logger.info(
    {
      host: config.HOST,
      port,
      transport: transport.name,
      lanes: db.lanes,
      fanout: config.FANOUT,
      embeddedDatabase: db.embedded !== null,
      socketIo: socketIo !== null,
    },
    `listening on http://${config.HOST}:${port}`,
  );

  const appender = resolve(container, TOKENS.MessageAppender);
  let stopping: Promise<void> | null = null;
  const stop = () =>
    (stopping ??= (async () => {
      logger.info('shutting down');
      transport.stopListening();
      await gateway.settle(config.SHUTDOWN_TIMEOUT_MS);
      // Reset links already promised (their requests were answered) go out before the database closes.
      await Promise.race([useCases.requestPasswordReset.idle(), new Promise((r) => setTimeout(r, config.SHUTDOWN_TIMEOUT_MS).unref())]);
      await appender.drain();
      await notices.close();
      await presence.stop();
      await webhooks.close();
      await uploadsGc.close();
      registry.closeAll(CLOSE.GOING_AWAY, 'Server shutting down');
      socketIo?.close();
      await fanout.close();
      await metrics?.close();
      await db.close();
      logger.info('stopped');
    })());
  return { port, databaseUrl: db.url, transport, gateway, stop };
}
