import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type pg from 'pg';
import type { Sequelize } from 'sequelize';
import type { Logger } from '../application/ports/services.js';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from '../adapters/postgres/embedded/embedded-postgres-server.js';
import { CLOSE } from '../adapters/gateway/connection.js';
import { ConnectionRegistry } from '../adapters/gateway/connection-registry.js';
import { Gateway } from '../adapters/gateway/gateway.js';
import type { Transport } from '../adapters/gateway/transport.js';
import { NodeTransport } from '../adapters/node-http/node-transport.js';
import { PgListener } from '../adapters/fanout/postgres/pg-listener.js';
import { ensureLanes } from '../adapters/postgres/write-path/write-lanes.js';
import { createSequelize, ensureSchema } from '../adapters/postgres/database.js';
import { migrate } from '../adapters/postgres/migrator.js';
import { acceptsWrites, createPgPool } from '../adapters/postgres/pool.js';
import { SocketIoEndpoint } from '../adapters/socketio/socket-io-endpoint.js';
import { SessionPeers } from '../adapters/socketio/session-peers.js';
import { UwsTransport } from '../adapters/uws/uws-transport.js';
import { metricsRoute, processMetrics, shareWithSupervisor, startMetricsServer, type MetricsServer } from '../adapters/metrics/metrics-endpoint.js';
import { PromTelemetry } from '../adapters/metrics/prom-telemetry.js';
import { webClientRoutes } from '../adapters/web-client/web-client-routes.js';
import type { Config } from './config.js';
import {
  buildContainer,
  coreModule,
  deliveryModule,
  localFanoutModule,
  postgresFanoutModule,
  postgresModule,
  realtimeModule,
  resolve,
  useCasesModule,
} from './container.js';
import { jwtSecret } from './jwt-secret.js';
import { joinPeerDirectory, workerTag } from './cluster-peers.js';
import { TOKENS } from './tokens.js';
import { PRODUCT_VERSION } from './version.js';
import { chooseTransport, type TransportChoice } from './transport-choice.js';

export interface RunningServer {
  readonly port: number;
  readonly databaseUrl: string;
  readonly transport: Transport;
  readonly gateway: Gateway;
  /** Graceful: stop accepting, finish in-flight work, close sockets with 1001, close the pools, stop the embedded database. */
  stop(): Promise<void>;
}

/** Starts the database side: the embedded server if no URL is configured, the ORM, the migrations, the hot-path pool. */
async function openDatabase(config: Config, logger: Logger) {
  let embedded: EmbeddedPostgresHandle | null = null;
  let url = config.databaseUrl;
  if (!url) {
    embedded = await startEmbeddedPostgres({ dataDir: config.dataDir, port: config.EMBEDDED_DB_PORT, logger });
    url = embedded.url;
  }
  const sequelize = createSequelize({ url, schema: config.DB_SCHEMA, poolMax: config.DB_POOL_MAX, logger });
  // Each lane holds at most one connection for its batch in flight; presence, fan-out and profile loads use a few more.
  // Unset, WRITE_LANES is the database's count, not known yet: room for four lanes.
  const pool = createPgPool({ url, schema: config.DB_SCHEMA, max: (config.WRITE_LANES ?? 4) + 4, applicationName: 'chat-backend-write' });
  const close = async () => {
    await pool.end().catch(() => undefined);
    await sequelize.close().catch(() => undefined);
    await embedded?.stop().catch(() => undefined);
  };
  try {
    await sequelize.authenticate();
    await ensureSchema(sequelize, config.DB_SCHEMA);
    if (config.MIGRATE_ON_START) {
      const applied = await migrate(sequelize, logger);
      logger.info({ applied }, applied.length ? 'migrations applied' : 'schema up to date');
    }
  } catch (error) {
    await close();
    throw error;
  }
  return { url, sequelize, pool, embedded, close };
}

/**
 * The database as readiness sees it: both pools reach it, and it takes a write
 * (a read-only or full database still answers `SELECT 1`). The write probe runs
 * at most once a second; checks in between share its outcome, so a public
 * /readyz never costs a write per request.
 */
function databaseCheck(sequelize: Sequelize, pool: pg.Pool): () => Promise<'up' | 'down' | 'refusing-writes'> {
  let probe: { at: number; outcome: Promise<boolean> } | null = null;
  return async () => {
    if (!probe || Date.now() - probe.at >= 1_000) probe = { at: Date.now(), outcome: acceptsWrites(pool) };
    const [reachable, writable] = await Promise.all([
      sequelize.query('SELECT 1').then(
        () => true,
        () => false,
      ),
      probe.outcome,
    ]);
    return !reachable ? 'down' : writable ? 'up' : 'refusing-writes';
  };
}

export async function startServer(config: Config, logger: Logger, choice: TransportChoice = chooseTransport(config.TRANSPORT)): Promise<RunningServer> {
  const db = await openDatabase(config, logger);
  const telemetry = new PromTelemetry();
  const collect = processMetrics(telemetry.registry);
  const nodeId = `${os.hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  const channel = config.FANOUT === 'postgres' ? config.NOTIFY_CHANNEL : null;
  let lanes: number;
  try {
    // The users table's trigger announces lost access on this channel (none with local fan-out).
    await db.pool.query('INSERT INTO fanout_settings (singleton, channel) VALUES (true, $1) ON CONFLICT (singleton) DO UPDATE SET channel = excluded.channel', [
      channel,
    ]);
    lanes = await ensureLanes(db.pool, config.WRITE_LANES, async () => {
      const { rows } = await db.pool.query<{ n: string }>('SELECT count(*) AS n FROM server_nodes WHERE lease_expires_at > now()');
      return Number(rows[0]!.n);
    });
  } catch (error) {
    await db.close();
    throw error;
  }

  let listener: PgListener | null = null;
  const registry = new ConnectionRegistry({
    maxBufferedBytes: config.WS_MAX_BACKPRESSURE_BYTES,
    reloadConversations: (userId) => conversations.conversationIdsOf(userId),
    logger,
  });
  const container = buildContainer(
    coreModule(config, logger, await jwtSecret(config), telemetry),
    postgresModule(config, {
      sequelize: db.sequelize,
      pool: db.pool,
      lanes,
      nodeId,
      channel,
      onCommitted: (lane, previousId, stored) => listener?.deliverCommitted(lane, previousId, stored),
    }),
    deliveryModule(registry),
    channel ? postgresFanoutModule({ channel, nodeId }) : localFanoutModule(),
    realtimeModule(config),
    useCasesModule(config),
  );
  const conversations = resolve(container, TOKENS.ConversationRepository);
  listener = channel
    ? new PgListener(db.pool, {
        url: db.url,
        ...(config.DB_SCHEMA ? { schema: config.DB_SCHEMA } : {}),
        channel,
        nodeId,
        lanes,
        delivery: registry,
        observers: resolve(container, TOKENS.FanoutObservers),
        messages: resolve(container, TOKENS.MessageRepository),
        conversations,
        logger,
        telemetry,
      })
    : null;
  await listener?.start();
  const presence = resolve(container, TOKENS.PresenceTracker);
  await presence.start();
  registry.observe(presence);

  const useCases = resolve(container, TOKENS.UseCases);
  const checkDatabase = databaseCheck(db.sequelize, db.pool);
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
        }
      : null,
    maxConnectionsPerUser: limitsOn ? config.MAX_CONNECTIONS_PER_USER : 0,
    maxConnectionsPerAddress: limitsOn ? config.MAX_CONNECTIONS_PER_ADDRESS : 0,
    maxUpgradesInFlight: config.UPGRADE_MAX_IN_FLIGHT,
    trustProxyHops: config.TRUST_PROXY_HOPS,
    transportName: choice.kind,
    telemetry,
    accessLogLevel: config.ACCESS_LOG_LEVEL,
    plainRoutes: [
      ...(config.WEB_CLIENT_ENABLED ? webClientRoutes({ logger }) : []),
      ...(config.METRICS_TOKEN ? [metricsRoute(config.METRICS_TOKEN, collect)] : []),
    ],
    ready: async () => {
      const database = await checkDatabase();
      const fanout = listener?.state;
      return {
        ready: database === 'up' && (!fanout || fanout.state === 'listening'),
        details: {
          database,
          transport: { name: transport?.name, build: transport?.build },
          node: nodeId,
          write_lanes: lanes,
          ...(fanout ? { fanout } : { fanout: 'local' }),
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
    { host: config.HOST, port, transport: transport.name, lanes, embeddedDatabase: db.embedded !== null, socketIo: socketIo !== null },
    `listening on http://${config.HOST}:${port}`,
  );

  const appender = resolve(container, TOKENS.MessageAppender);
  let stopping: Promise<void> | null = null;
  const stop = () =>
    (stopping ??= (async () => {
      logger.info('shutting down');
      transport.stopListening();
      await gateway.settle(config.SHUTDOWN_TIMEOUT_MS);
      await appender.drain();
      await presence.stop();
      registry.closeAll(CLOSE.GOING_AWAY, 'Server shutting down');
      socketIo?.close();
      await listener?.close();
      await metrics?.close();
      await db.close();
      logger.info('stopped');
    })());
  return { port, databaseUrl: db.url, transport, gateway, stop };
}
