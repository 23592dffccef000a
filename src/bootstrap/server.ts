import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { QueryTypes } from 'sequelize';
import type { Logger } from '../application/ports/services.js';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from '../adapters/embedded/embedded-postgres-server.js';
import { Gateway } from '../adapters/gateway/gateway.js';
import { CLOSE } from '../adapters/gateway/connection.js';
import type { Transport } from '../adapters/gateway/transport.js';
import { NodeTransport } from '../adapters/node-http/node-transport.js';
import { createSequelize, ensureSchema } from '../adapters/sequelize/database.js';
import { migrate } from '../adapters/sequelize/migrator.js';
import { SequelizeMessageRepository } from '../adapters/sequelize/sequelize-message-repository.js';
import { CachingConversationRepository } from '../adapters/cache/caching-conversation-repository.js';
import { SocketIoEndpoint } from '../adapters/socketio/socket-io-endpoint.js';
import { UwsTransport } from '../adapters/uws/uws-transport.js';
import { webClientRoutes } from '../adapters/web-client/web-client-routes.js';
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
import { chooseTransport, type TransportChoice } from './transport-choice.js';

export interface RunningServer {
  readonly port: number;
  readonly databaseUrl: string;
  readonly transport: Transport;
  readonly gateway: Gateway;
  /** Graceful: stop accepting, finish in-flight work, close sockets with 1001, close the pool, stop the embedded database. */
  stop(): Promise<void>;
}

export async function startServer(config: Config, logger: Logger, choice: TransportChoice = chooseTransport(config.TRANSPORT)): Promise<RunningServer> {
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
  const useCases = resolve(container, TOKENS.UseCases);
  const conversations = resolve(container, TOKENS.ConversationRepository);
  let transport: Transport | null = null;
  const gateway = new Gateway(useCases, {
    maxFrameBytes: config.MAX_FRAME_BYTES,
    maxBodyBytes: config.MAX_BODY_BYTES,
    idleTimeoutSeconds: config.WS_IDLE_TIMEOUT_SECONDS,
    maxBackpressureBytes: config.WS_MAX_BACKPRESSURE_BYTES,
    ratePerSecond: config.RATE_LIMIT_PER_SECOND,
    rateBurst: config.RATE_LIMIT_BURST,
    maxInFlightPerConnection: config.WS_MAX_IN_FLIGHT,
    plainRoutes: config.WEB_CLIENT_ENABLED ? webClientRoutes({ logger }) : [],
    corsOrigins: config.CORS_ORIGINS,
    logger,
    reloadConversations: (userId) => conversations.conversationIdsOf(userId),
    ready: async () => {
      const database = await sequelize.query('SELECT 1', { type: QueryTypes.SELECT }).then(() => true, () => false);
      const listening = fanout ? fanout.state.state === 'listening' : true;
      return {
        ready: database && listening,
        details: { database: database ? 'up' : 'down', transport: { name: transport?.name, build: transport?.build }, ...(fanout ? { fanout: fanout.state } : {}) },
      };
    },
  });
  transport =
    choice.kind === 'uws'
      ? new UwsTransport(choice.build, gateway, { host: config.HOST, port: config.PORT })
      : new NodeTransport(gateway, { host: config.HOST, port: config.PORT });
  logger.info({ transport: transport.name, build: transport.build, reason: choice.reason, node: process.version }, `transport: ${transport.name} (${transport.build})`);

  const hub = resolve(container, TOKENS.LocalHub);
  if (conversations instanceof CachingConversationRepository) {
    hub.onMembership((change) => conversations.invalidate(change.conversationId));
    hub.onResync(() => conversations.clear());
  }
  const detach = hub.attach(gateway.registry);
  let socketIo: SocketIoEndpoint | null = null;
  if (config.SOCKETIO_ENABLED) {
    socketIo = new SocketIoEndpoint(gateway);
    socketIo.attach(transport.socketIoHost);
  }
  const port = await transport.listen();
  logger.info(
    { host: config.HOST, port, transport: transport.name, embeddedDatabase: embedded !== null, socketIo: socketIo !== null },
    `listening on http://${config.HOST}:${port}`,
  );

  let stopping: Promise<void> | null = null;
  const stop = () =>
    (stopping ??= (async () => {
      logger.info('shutting down');
      transport.stopListening();
      await gateway.settle(config.SHUTDOWN_TIMEOUT_MS);
      const messages = resolve(container, TOKENS.MessageRepository);
      if (messages instanceof SequelizeMessageRepository) await messages.drain();
      gateway.registry.closeAll(CLOSE.GOING_AWAY, 'Server shutting down');
      socketIo?.close();
      detach();
      await fanout?.close();
      await sequelize.close();
      await embedded?.stop();
      logger.info('stopped');
    })());
  return { port, databaseUrl, transport, gateway, stop };
}
