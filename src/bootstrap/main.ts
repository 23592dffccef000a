import { ConfigError, embeddedDatabaseWarning, loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { relayStderrToLog } from './native-stderr.js';
import { startServer, type RunningServer } from './server.js';
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
  // The log is written asynchronously: exiting with a line still being written loses it, or reorders it.
  // (Bounded: stdout may be a pipe nobody reads.)
  // The stderr relay, if any, ends before this process does, so nothing of the group outlives it.
  const exit = (code: number) => {
    process.exitCode = code; // should nothing be left to wait for
    setTimeout(() => process.exit(code), 2_000).unref();
    logger.flush(() => void (relay?.relayed ? relay.finish() : Promise.resolve()).then(() => process.exit(code)));
  };
  // A setting found wrong only once start-up reads it (a kept secret edited into a weak one) is a configuration error too.
  const startUpFailed = (error: unknown): Promise<never> => {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      exit(78);
    } else {
      logger.fatal({ err: error }, 'start-up failed');
      exit(1);
    }
    // The log, and the stderr relay's last lines, are written before the exit.
    return new Promise<never>(() => undefined);
  };
  // Once per start: workers inherit the same environment and keep quiet about it.
  if (config.ignoredVariables.length > 0 && !process.env.CHAT_WORKER) {
    const ignored = Object.fromEntries(config.ignoredVariables.map((v) => [v.name, v.reason]));
    logger.warn({ ignored }, `set but ignored: ${config.ignoredVariables.map((v) => v.name).join(', ')}`);
  }
  const embeddedWarning = embeddedDatabaseWarning(config);
  if (embeddedWarning && !process.env.CHAT_WORKER) logger.warn({ dataDir: config.dataDir }, embeddedWarning);
  if (config.WORKERS > 1 && !process.env.CHAT_WORKER) {
    await supervise(config, logger, exit).catch(startUpFailed);
    return;
  }
  // One stop per process, however many signals arrive: a terminal's Ctrl-C and a
  // supervisor's stop reach every process of the group, and npm relays them
  // again, so a repeat is the normal case, not a request to hurry. The stop is
  // bounded by SHUTDOWN_TIMEOUT_MS; SIGKILL (or Ctrl-\, SIGQUIT) ends it at once.
  // Listening from before start-up: a signal then stops the server once it is up.
  let stopRequested: string | null = null;
  let server: RunningServer | null = null;
  const stop = (running: RunningServer) =>
    running.stop().then(
      () => exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        exit(1);
      },
    );
  const shutdown = (signal: string) => {
    if (stopRequested) return logger.info({ signal }, 'signal received again; already stopping');
    stopRequested = signal;
    logger.info({ signal }, 'signal received');
    if (server) void stop(server);
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  server = await startServer(config, logger, choice).catch(startUpFailed);
  if (stopRequested) void stop(server);
  process.on('unhandledRejection', (error) => logger.error({ err: error }, 'unhandled rejection'));
}

void main();
