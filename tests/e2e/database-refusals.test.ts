import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from '../../src/adapters/postgres/embedded/embedded-postgres-server.js';
import { HttpClient } from '../support/http-client.js';
import { freePort, killAll, PROCESS_TEST_ENV, startProcess, type ServerProcess } from '../support/server-process.js';
import { silentLogger } from '../support/silent-logger.js';
import { connectSocketIo, emitWithAnswer } from '../support/socket-io-client.js';
import { WsClient } from '../support/ws-client.js';

/** A server process on a PostgreSQL of its own, which the tests stop, restart and turn read-only. */
let dir: string;
let dbPort: number;
let db: EmbeddedPostgresHandle;
let server: ServerProcess;
let http: HttpClient;
let base: string;

beforeAll(async () => {
  dbPort = await freePort();
  dir = mkdtempSync(path.join(os.tmpdir(), 'chat-refusals-'));
  chmodSync(dir, 0o711);
  db = await startEmbeddedPostgres({ dataDir: dir, port: dbPort, logger: silentLogger });
  server = await startProcess({ ...PROCESS_TEST_ENV, DATABASE_URL: db.url, DATA_DIR: dir });
  base = `http://127.0.0.1:${server.port}`;
  http = new HttpClient(base);
}, 60_000);

afterAll(async () => {
  killAll();
  await server?.exited;
  await db?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const readiness = async () => (await http.get('/readyz')).status;

/** Polls until `check` resolves true; fails after `timeoutMs`. */
async function until(check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Runs SQL as the superuser on the server's database. */
async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

describe('the database refusing work', () => {
  it('answers 503 SERVICE_UNAVAILABLE, not 500, to REST and to upgrades that need a profile not cached while the database is down', async () => {
    const [cold, other] = [await http.register(), await http.register()];
    await db.stop();
    try {
      // The first request with this token: its profile must be loaded from the database.
      const rest = await http.get('/users/me', cold.token);
      expect({ status: rest.status, code: rest.body.error?.code }).toEqual({ status: 503, code: 'SERVICE_UNAVAILABLE' });
      const upgrade = await WsClient.connect(`ws://127.0.0.1:${server.port}/ws`, other.token).then(
        () => 'opened',
        (error: { status?: number }) => error.status,
      );
      expect(upgrade).toBe(503);
    } finally {
      db = await startEmbeddedPostgres({ dataDir: dir, port: dbPort, logger: silentLogger });
    }
    await until(async () => (await readiness()) === 200);
    expect((await http.get('/users/me', cold.token)).status).toBe(200);
    const ws = await WsClient.connect(`ws://127.0.0.1:${server.port}/ws`, other.token);
    ws.socket.terminate();
  }, 60_000);

  it('answers SERVICE_UNAVAILABLE to writes on /ws, Socket.IO and REST, and /readyz 503, while the database is read-only; ready and writing again once it is not', async () => {
    const [a, b] = [await http.register(), await http.register()];
    const conv = (await http.post('/conversations', { participant_ids: [b.id] }, a.token)).body;
    const ws = await WsClient.connect(`ws://127.0.0.1:${server.port}/ws`, a.token);
    const io = await connectSocketIo(base, a.token);
    const send = (content: string) => ws.request('sendMessage', { conversation_id: conv.id, content });
    expect((await send('writable')).event).toBe('ack');
    expect(await readiness()).toBe(200);

    await admin('ALTER SYSTEM SET default_transaction_read_only = on');
    try {
      await admin('SELECT pg_reload_conf()');
      await until(async () => (await readiness()) === 503);
      expect((await http.get('/readyz')).body).toMatchObject({ status: 'unavailable', database: 'refusing-writes' });
      expect(await send('read-only')).toMatchObject({ event: 'error', error: { code: 'SERVICE_UNAVAILABLE' } });
      expect(await emitWithAnswer(io, 'sendMessage', { conversation_id: conv.id, content: 'read-only' })).toMatchObject({
        success: false,
        error: { code: 'SERVICE_UNAVAILABLE' },
      });
      const rest = await http.post('/conversations', { participant_ids: [b.id], title: 'a group' }, a.token);
      expect({ status: rest.status, code: rest.body.error?.code }).toEqual({ status: 503, code: 'SERVICE_UNAVAILABLE' });
    } finally {
      await admin('ALTER SYSTEM RESET default_transaction_read_only');
      await admin('SELECT pg_reload_conf()');
    }
    await until(async () => (await readiness()) === 200);
    expect((await send('writable again')).event).toBe('ack');
    ws.socket.terminate();
    io.disconnect();
  }, 60_000);
});
