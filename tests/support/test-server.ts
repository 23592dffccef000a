import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../../src/bootstrap/config.js';
import { startServer, type RunningServer } from '../../src/bootstrap/server.js';
import { freshDatabase } from './database.js';
import { TEST_JWT_SECRET } from './server-process.js';
import { silentLogger } from './silent-logger.js';
import { HttpClient } from './http-client.js';
import { testTransport } from './transport.js';

export interface TestServer extends RunningServer {
  readonly http: HttpClient;
  readonly wsUrl: string;
  /** Its database (for what no route does: making a user staff). */
  readonly databaseUrl: string;
}

/** The real server (uWS + Sequelize + PostgreSQL) on a fresh database and a free port. */
export async function startTestServer(env: Record<string, string> = {}): Promise<TestServer> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'chat-e2e-'));
  const config = loadConfig({
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    PORT: '0',
    DATABASE_URL: await freshDatabase('e2e'),
    DATA_DIR: dataDir,
    JWT_SECRET: TEST_JWT_SECRET,
    PASSWORD_HASH_MEMORY_KIB: '1024',
    PASSWORD_HASH_TIME_COST: '1',
    RATE_LIMIT_PER_SECOND: '0',
    // Tests register many users from one address; the tests of limits turn them back on.
    RATE_LIMITS: 'off',
    METRICS_PORT: '0',
    TRANSPORT: testTransport(),
    ...env,
  });
  // TEST_LOG_FILE=path keeps the servers' debug logs, for looking into a failure.
  const logger = process.env.TEST_LOG_FILE
    ? pino({ level: 'debug' }, pino.destination({ dest: process.env.TEST_LOG_FILE, append: true, sync: true }))
    : silentLogger;
  const server = await startServer(config, logger).catch((error: unknown) => {
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  });
  const stop = async () => {
    try {
      await server.stop();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  };
  return {
    ...server,
    stop,
    http: new HttpClient(`http://127.0.0.1:${server.port}`),
    wsUrl: `ws://127.0.0.1:${server.port}/ws`,
    databaseUrl: config.databaseUrl ?? '',
  };
}
