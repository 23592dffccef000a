import { ConfigError, loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { relayStderrToLog } from './native-stderr.js';
import { startServer } from './server.js';
import { supervise } from './supervisor.js';
import { chooseTransport, TransportUnavailableError } from './transport-choice.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
  let choice;
  try {
    choice = chooseTransport(config.TRANSPORT);
  } catch (error) {
    if (error instanceof TransportUnavailableError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(78);
    }
    throw error;
  }
  const pretty = config.NODE_ENV === 'development' && process.stdout.isTTY;
  // uWebSockets.js writes plain text to stderr natively: into the JSON log with it (a supervisor serves nothing itself).
  const serves = config.WORKERS === 1 || Boolean(process.env.CHAT_WORKER);
  const relay = choice.kind === 'uws' && serves && !pretty ? relayStderrToLog(config.LOG_LEVEL) : null;
  const logger = createLogger(config.LOG_LEVEL, pretty);
  if (relay && !relay.relayed) logger.warn({ reason: relay.reason }, 'stderr is not relayed into the log: native warnings appear there as plain text');
  // Once per start: workers inherit the same environment and keep quiet about it.
  if (config.ignoredVariables.length > 0 && !process.env.CHAT_WORKER) {
    const ignored = Object.fromEntries(config.ignoredVariables.map((v) => [v.name, v.reason]));
    logger.warn({ ignored }, `set but ignored: ${config.ignoredVariables.map((v) => v.name).join(', ')}`);
  }
  if (config.WORKERS > 1 && !process.env.CHAT_WORKER) {
    await supervise(config, logger).catch((error: unknown) => {
      logger.fatal({ err: error }, 'start-up failed');
      process.exit(1);
    });
    return;
  }
  const server = await startServer(config, logger, choice).catch((error: unknown) => {
    logger.fatal({ err: error }, 'start-up failed');
    process.exit(1);
  });
  const shutdown = (signal: string) => {
    logger.info({ signal }, 'signal received');
    server.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.on('unhandledRejection', (error) => logger.error({ err: error }, 'unhandled rejection'));
}

void main();
