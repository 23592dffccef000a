import cluster, { type Worker } from 'node:cluster';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../application/ports/services.js';
import { openDatabase } from './database.js';
import { clusterMetrics, startMetricsServer } from '../adapters/metrics/metrics-endpoint.js';
import type { Config } from './config.js';
import { jwtSecret } from './jwt-secret.js';
import { PeerDirectory } from './cluster-peers.js';

/** main.ts from the sources, main.js from the build. */
const ENTRY = fileURLToPath(new URL(`./main${path.extname(import.meta.url)}`, import.meta.url));

/**
 * WORKERS=N: N server processes on one port, each with its own pool and LISTEN
 * connection. They are cluster workers: on the Node transport this process
 * holds the listening socket and hands out connections; uWebSockets.js listens
 * with SO_REUSEPORT itself and the kernel spreads them. This process owns the
 * embedded database (if any), applies the migrations once, and restarts a
 * worker that dies.
 */
export async function supervise(config: Config, logger: Logger, exit: (code: number) => void = (code) => process.exit(code)): Promise<void> {
  const log = logger.child({ component: 'supervisor' });
  // Open once here: the embedded server (kept running for the workers) and the migrations; the ORM's pool is not needed after.
  const db = await openDatabase(config, logger, { migrate: config.MIGRATE_ON_START, poolMax: 2 });
  await db.sequelize.close();
  const { embedded, url: databaseUrl } = db;
  const env = {
    ...process.env,
    CHAT_WORKER: '1',
    DATABASE_URL: databaseUrl,
    JWT_SECRET: await jwtSecret(config),
    MIGRATE_ON_START: 'false',
  };

  const workers = new Map<number, Worker>();
  // Where each worker serves its Engine.IO sessions to the others (long-polling and upgrades land on any worker).
  const peers = new PeerDirectory();
  let stopping = false;
  cluster.setupPrimary({ exec: ENTRY, args: [], execArgv: process.execArgv });
  const start = (slot: number, attempt = 0) => {
    const worker = cluster.fork({ ...env, WORKER_SLOT: String(slot) });
    const child = worker.process;
    workers.set(slot, worker);
    peers.watch(worker, slot);
    const startedAt = Date.now();
    log.info({ slot, pid: child.pid }, 'worker started');
    worker.on('exit', (code, signal) => {
      workers.delete(slot);
      if (stopping) return;
      // A worker that keeps dying at once is restarted with growing pauses.
      const next = Date.now() - startedAt < 5_000 ? attempt + 1 : 0;
      const delay = Math.min(30_000, next === 0 ? 0 : 500 * 2 ** next);
      log.error({ slot, pid: child.pid, code, signal, restartInMs: delay }, 'worker exited; restarting');
      setTimeout(() => !stopping && start(slot, next), delay);
    });
  };
  for (let slot = 0; slot < config.WORKERS; slot++) start(slot);
  // One /metrics for the cluster: every worker's registry, merged over IPC (a port in use is a warning, not a failure).
  const metrics = config.METRICS_PORT
    ? await startMetricsServer({ host: config.METRICS_HOST, port: config.METRICS_PORT, collect: clusterMetrics(), logger: log })
    : null;

  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal, workers: workers.size }, 'stopping workers');
    await Promise.all(
      [...workers.values()].map(
        (worker) =>
          new Promise<void>((resolve) => {
            const kill = setTimeout(() => worker.process.kill('SIGKILL'), config.SHUTDOWN_TIMEOUT_MS + 5_000);
            worker.once('exit', () => (clearTimeout(kill), resolve()));
            worker.process.kill('SIGTERM');
          }),
      ),
    );
    await metrics?.close();
    await embedded?.stop();
    log.info('stopped');
    exit(0);
  };
  // Repeats (the group's own copy and npm's relay) are ignored by `stopping`, never left to the default action.
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}
