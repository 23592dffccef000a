import { randomBytes } from 'node:crypto';
import http from 'node:http';
import os from 'node:os';
import { QueryTypes } from 'sequelize';
import type { Logger } from '../application/ports/services.js';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from '../adapters/embedded/embedded-postgres-server.js';
import { createSequelize, ensureSchema } from '../adapters/sequelize/database.js';
import { migrate } from '../adapters/sequelize/migrator.js';
import { SequelizeMessageRepository } from '../adapters/sequelize/sequelize-message-repository.js';
import { CachingConversationRepository } from '../adapters/cache/caching-conversation-repository.js';
import { SocketIoTransport } from '../adapters/socketio/socket-io-transport.js';
import { UwsTransport } from '../adapters/uws/uws-transport.js';
import { uwsBuild, abiVersion } from '../adapters/uws/uws.js';
import type { Config } from './config.js';
import {
  buildContainer,
  coreModule,
  localFanoutModule,
  postgresFanoutModule,
  resolve,
  sequelizeModule,
  useCasesModule,
} from './container.js';
import { jwtSecret } from './jwt-secret.js';
import { TOKENS } from './tokens.js';

export interface RunningServer {
  readonly port: number;
  readonly databaseUrl: string;
  readonly transport: UwsTransport;
  /** Graceful: stop accepting, finish in-flight work, close sockets with 1001, close the pool, stop the embedded database. */
  stop(): Promise<void>;
}

export async function startServer(config: Config, logger: Logger): Promise<RunningServer> {
  logger.info({ build: uwsBuild, abi: abiVersion, node: process.version }, `uWebSockets.js build: ${uwsBuild}`);
  if (uwsBuild !== 'native') {
    logger.warn({ abi: abiVersion }, 'uWebSockets.js native binary not available for this Node.js; running on the slow JS fallback');
  }

  let embedded: EmbeddedPostgresHandle | null = null;
  let databaseUrl = config.databaseUrl;
  if (!databaseUrl) {
    embedded = await startEmbeddedPostgres({ dataDir: config.dataDir, port: config.EMBEDDED_DB_PORT, logger });
    databaseUrl = embedded.url;
  }
  const sequelize = createSequelize({ url: databaseUrl, schema: config.DB_SCHEMA, poolMax: config.DB_POOL_MAX, logger });
  try {
    await sequelize.authenticate();
    await ensureSchema(sequelize, config.DB_SCHEMA);
    if (config.MIGRATE_ON_START) {
      const applied = await migrate(sequelize, logger);
      logger.info({ applied }, applied.length ? 'migrations applied' : 'schema up to date');
    }
  } catch (error) {
    await sequelize.close().catch(() => undefined);
    await embedded?.stop().catch(() => undefined);
    throw error;
  }

  const container = buildContainer(
    coreModule(config, logger, await jwtSecret(config)),
    sequelizeModule(sequelize, config),
    config.FANOUT === 'postgres'
      ? postgresFanoutModule({ url: databaseUrl, schema: config.DB_SCHEMA, channel: config.NOTIFY_CHANNEL, nodeId: `${os.hostname()}:${process.pid}:${randomBytes(3).toString('hex')}` })
      : localFanoutModule(),
    useCasesModule(),
  );
  const fanout = config.FANOUT === 'postgres' ? resolve(container, TOKENS.PgNotifyBroadcaster) : null;
  await fanout?.start();
  const transport = new UwsTransport(resolve(container, TOKENS.UseCases), {
    host: config.HOST,
    port: config.PORT,
    maxFrameBytes: config.MAX_FRAME_BYTES,
    maxBodyBytes: config.MAX_BODY_BYTES,
    idleTimeoutSeconds: config.WS_IDLE_TIMEOUT_SECONDS,
    maxBackpressureBytes: config.WS_MAX_BACKPRESSURE_BYTES,
    ratePerSecond: config.RATE_LIMIT_PER_SECOND,
    rateBurst: config.RATE_LIMIT_BURST,
    maxInFlightPerConnection: config.WS_MAX_IN_FLIGHT,
    corsOrigins: config.CORS_ORIGINS,
    logger,
    ready: async () => {
      const database = await sequelize.query('SELECT 1', { type: QueryTypes.SELECT }).then(() => true, () => false);
      const listening = fanout ? fanout.state.state === 'listening' : true;
      return { ready: database && listening, details: { database: database ? 'up' : 'down', ...(fanout ? { fanout: fanout.state } : {}) } };
    },
  });
  const hub = resolve(container, TOKENS.LocalHub);
  const conversations = resolve(container, TOKENS.ConversationRepository);
  if (conversations instanceof CachingConversationRepository) {
    hub.onMembership((change) => conversations.invalidate(change.conversationId));
    hub.onResync(() => conversations.clear());
  }
  const detach = [hub.attach(transport)];
  const newSocketIo = () =>
    new SocketIoTransport(resolve(container, TOKENS.UseCases), {
      maxPacketBytes: config.MAX_FRAME_BYTES,
      corsOrigins: config.CORS_ORIGINS,
      ratePerSecond: config.RATE_LIMIT_PER_SECOND,
      rateBurst: config.RATE_LIMIT_BURST,
      logger,
      track: (work) => transport.track(work),
    });
  let socketIo: SocketIoTransport | null = null;
  if (config.SOCKETIO_ENABLED) {
    socketIo = newSocketIo();
    socketIo.attachToApp(transport.app);
    detach.push(hub.attach(socketIo));
  }
  // The original stack (Socket.IO on Node's own HTTP server), kept for side-by-side benchmarks.
  let nodeHttp: http.Server | null = null;
  if (config.SOCKETIO_NODE_PORT) {
    const baseline = newSocketIo();
    nodeHttp = http.createServer();
    baseline.attachToHttpServer(nodeHttp);
    detach.push(hub.attach(baseline));
    await new Promise<void>((ok) => nodeHttp!.listen(config.SOCKETIO_NODE_PORT, config.HOST, ok));
    logger.info({ port: config.SOCKETIO_NODE_PORT }, 'Socket.IO on Node HTTP (baseline) listening');
  }
  const port = await transport.listen();
  logger.info(
    { host: config.HOST, port, embeddedDatabase: embedded !== null, socketIo: socketIo !== null },
    `listening on http://${config.HOST}:${port}`,
  );

  let stopping: Promise<void> | null = null;
  const stop = () =>
    (stopping ??= (async () => {
      logger.info('shutting down');
      transport.stopListening();
      await transport.settle(config.SHUTDOWN_TIMEOUT_MS);
      const messages = resolve(container, TOKENS.MessageRepository);
      if (messages instanceof SequelizeMessageRepository) await messages.drain();
      transport.closeConnections();
      socketIo?.close();
      nodeHttp?.closeAllConnections();
      nodeHttp?.close();
      for (const d of detach) d();
      await fanout?.close();
      await sequelize.close();
      await embedded?.stop();
      logger.info('stopped');
    })());
  return { port, databaseUrl, transport, stop };
}
