import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HttpClient } from '../support/http-client.js';
import { testTransport } from '../support/transport.js';
import { WsClient } from '../support/ws-client.js';
import pg from 'pg';
import { freshDatabase } from '../support/database.js';
import { freePort, killAll, mainEntry, PROCESS_TEST_ENV, startProcess } from '../support/server-process.js';

const dirs: string[] = [];

afterAll(() => {
  killAll();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('the server as a process, on its own embedded PostgreSQL', () => {
  it('starts on a fresh temp DATA_DIR, serves, and shuts down gracefully on SIGTERM', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'chat-proc-'));
    dirs.push(dataDir);
    const port = await freePort();
    const server = await startProcess({ DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1' });
    expect(server.output()).toContain(`"transport":"${testTransport()}"`);
    expect(server.output()).toMatch(/embedded PostgreSQL started/);

    const http = new HttpClient(`http://127.0.0.1:${port}`);
    expect((await http.get('/readyz')).status).toBe(200);
    const [a, b] = [await http.register(), await http.register()];
    const conv = (await http.post('/conversations', { participant_ids: [b.id] }, a.token)).body;
    const ws = await WsClient.connect(`ws://127.0.0.1:${port}/ws`, b.token);
    const sent = await http.post(`/conversations/${conv.id}/messages`, { content: 'before shutdown' }, a.token);
    expect(sent.status).toBe(201);

    server.child.kill('SIGTERM');
    expect((await ws.closed).code).toBe(1001);
    expect(await server.exited).toBe(0);
    expect(server.output()).toMatch(/embedded PostgreSQL stopped/);
    expect(existsSync(path.join(dataDir, 'postgres', 'postmaster.pid'))).toBe(false);

    // Data survives a restart on the same DATA_DIR, and so do the tokens (the generated secret is kept).
    const again = await startProcess({ DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1' });
    const page = await http.get(`/conversations/${conv.id}/messages`, b.token);
    expect(page.body.messages.map((m: { content: string }) => m.content)).toEqual(['before shutdown']);
    again.child.kill('SIGINT');
    expect(await again.exited).toBe(0);
  }, 90_000);

  it('stops on SIGTERM while a client keeps sending: closes with 1001, exits 0, refuses only with SERVICE_UNAVAILABLE, and every acknowledged message is stored', async () => {
    const databaseUrl = await freshDatabase('drain');
    // A wait this long would outlast the test if shutdown waited for traffic that never stops.
    const env = { ...PROCESS_TEST_ENV, DATABASE_URL: databaseUrl, SHUTDOWN_TIMEOUT_MS: '600000' };
    const server = await startProcess(env);
    const http = new HttpClient(`http://127.0.0.1:${server.port}`);
    const [a, b] = [await http.register(), await http.register()];
    const conv = (await http.post('/conversations', { participant_ids: [b.id] }, a.token)).body;
    const ws = await WsClient.connect(`ws://127.0.0.1:${server.port}/ws`, a.token);
    const acked: number[] = [];
    const refused: string[] = [];
    let sent = 0;
    const sendOne = () => ws.sendRaw(JSON.stringify({ event: 'sendMessage', data: { conversation_id: conv.id, content: `m${sent}` }, ack: ++sent }));
    let flowing!: () => void;
    const traffic = new Promise<void>((resolve) => (flowing = resolve));
    ws.socket.on('message', (raw) => {
      const frame = JSON.parse(raw.toString());
      if (frame.event === 'ack') acked.push(frame.data.id);
      else if (frame.event === 'error' && frame.ack !== undefined) refused.push(frame.error.code);
      else return;
      if (acked.length === 200) flowing();
      if (ws.socket.readyState === ws.socket.OPEN) sendOne();
    });
    for (let i = 0; i < 32; i++) sendOne();
    await traffic;

    server.child.kill('SIGTERM');
    expect((await ws.closed).code).toBe(1001);
    expect(await server.exited).toBe(0);
    // Whether a frame lands in the short window between the start of shutdown and the close is timing;
    // the refusal itself is proven in hardening.test.ts ("shutdown").
    expect(refused.filter((code) => code !== 'SERVICE_UNAVAILABLE')).toEqual([]);
    const db = new pg.Client({ connectionString: databaseUrl });
    await db.connect();
    try {
      const { rows } = await db.query<{ id: string }>('SELECT id FROM messages WHERE conversation_id = $1', [conv.id]);
      const stored = new Set(rows.map((r) => Number(r.id)));
      expect(acked.filter((id) => !stored.has(id))).toEqual([]);
    } finally {
      await db.end();
    }
  }, 90_000);

  it('serves the whole cluster’s metrics on the metrics port with WORKERS=2 (loopback, off the public port)', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'chat-metrics-'));
    dirs.push(dataDir);
    const [port, metricsPort] = [await freePort(), await freePort()];
    const server = await startProcess(
      { DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', WORKERS: '2', METRICS_PORT: String(metricsPort) },
      /listening on[\s\S]*listening on/,
    );
    const http = new HttpClient(`http://127.0.0.1:${port}`);
    const users = [await http.register(), await http.register(), await http.register(), await http.register()];
    const sockets = await Promise.all(users.map((u) => WsClient.connect(`ws://127.0.0.1:${port}/ws`, u.token)));
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    // Four connections, however the kernel spread them over the two workers, summed by the supervisor.
    const connections = text
      .split('\n')
      .filter((l) => l.startsWith('chat_connections{'))
      .reduce((n, l) => n + Number(l.split(' ').at(-1)), 0);
    expect(connections).toBe(4);
    expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(404);
    for (const s of sockets) s.socket.terminate();
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  }, 90_000);

  it('refuses to start on bad configuration, naming each bad variable', () => {
    const result = spawnSync(process.execPath, ['--import', 'tsx', mainEntry], {
      cwd: path.dirname(path.dirname(path.dirname(mainEntry))),
      env: { ...process.env, PORT: 'eighty', NODE_ENV: 'production', JWT_SECRET: '' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(result.status).toBe(78);
    expect(result.stderr).toMatch(/PORT: .*"eighty"/);
  });
});
