import { mkdtempSync, chmodSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from '../../src/adapters/postgres/embedded/embedded-postgres-server.js';
import { loadConfig } from '../../src/bootstrap/config.js';
import { startServer, type RunningServer } from '../../src/bootstrap/server.js';
import { HttpClient } from '../support/http-client.js';
import { silentLogger } from '../support/silent-logger.js';
import { WsClient } from '../support/ws-client.js';
import { freePort } from '../support/server-process.js';

let dir: string;
let db: EmbeddedPostgresHandle;
let server: RunningServer;
let http: HttpClient;
let port: number;

beforeAll(async () => {
  port = await freePort();
  dir = mkdtempSync(path.join(os.tmpdir(), 'chat-outage-'));
  chmodSync(dir, 0o711);
  db = await startEmbeddedPostgres({ dataDir: dir, port, logger: silentLogger });
  const config = loadConfig({
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    PORT: '0',
    DATABASE_URL: db.url,
    DATA_DIR: dir,
    JWT_SECRET: 'gYpP35EpanwVPDoxEJrCd0CHD7fC6i_ewrsjcOCHDVjdY6Fe',
    PASSWORD_HASH_MEMORY_KIB: '1024',
    PASSWORD_HASH_TIME_COST: '1',
    RATE_LIMIT_PER_SECOND: '0',
  });
  server = await startServer(config, silentLogger);
  http = new HttpClient(`http://127.0.0.1:${server.port}`);
}, 60_000);

afterAll(async () => {
  await server?.stop().catch(() => undefined);
  await db?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('a database outage', () => {
  it('turns readiness to 503 and sends into SERVICE_UNAVAILABLE, loses nothing acknowledged, and recovers by itself', async () => {
    const [a, b] = [await http.register(), await http.register()];
    const conv = (await http.post('/conversations', { participant_ids: [b.id] }, a.token)).body;
    const ws = await WsClient.connect(`ws://127.0.0.1:${server.port}/ws`, a.token);
    const acked = await ws.request('sendMessage', { conversation_id: conv.id, content: 'before', client_id: 'o-1' });
    expect(acked.event).toBe('ack');

    await db.stop();
    expect((await http.get('/readyz')).status).toBe(503);
    const during = await ws.request('sendMessage', { conversation_id: conv.id, content: 'during', client_id: 'o-2' });
    expect(during).toMatchObject({ event: 'error', error: { code: 'SERVICE_UNAVAILABLE' } });
    expect((await http.get('/healthz')).status).toBe(200);

    db = await startEmbeddedPostgres({ dataDir: dir, port, logger: silentLogger });
    let ready = 0;
    for (let i = 0; i < 50 && ready !== 200; i++) {
      ready = (await http.get('/readyz')).status;
      if (ready !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    expect(ready).toBe(200);
    const retried = await ws.request('sendMessage', { conversation_id: conv.id, content: 'during', client_id: 'o-2' });
    expect(retried.event).toBe('ack');
    const page = await http.get(`/conversations/${conv.id}/messages`, b.token);
    expect(page.body.messages.map((m: { content: string }) => m.content)).toEqual(['before', 'during']);
  });
});
