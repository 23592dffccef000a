import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres } from '../../src/adapters/postgres/embedded/embedded-postgres-server.js';
import { HttpClient } from '../support/http-client.js';
import { freePort, killAll, startProcess } from '../support/server-process.js';
import { silentLogger } from '../support/silent-logger.js';
import { sleep, WsClient } from '../support/ws-client.js';
import { eventually, receivedIds } from '../support/eventually.js';

const dirs: string[] = [];
const clients: WsClient[] = [];
const tempDir = (prefix: string) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  chmodSync(dir, 0o711);
  dirs.push(dir);
  return dir;
};
const connect = async (url: string, token: string) => {
  const c = await WsClient.connect(url, token);
  clients.push(c);
  return c;
};
const received = receivedIds;

afterAll(() => {
  for (const c of clients) c.socket.terminate();
  killAll();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('faults across processes', () => {
  it('restarting the database mid-stream: sends fail clearly while it is down, nothing acknowledged is lost or doubled, delivery resumes', async () => {
    const dir = tempDir('chat-restart-');
    const dbPort = await freePort();
    let db = await startEmbeddedPostgres({ dataDir: dir, port: dbPort, logger: silentLogger });
    const [port1, port2] = [await freePort(), await freePort()];
    const env = {
      DATABASE_URL: db.url,
      HOST: '127.0.0.1',
      JWT_SECRET: 'VbVaHzlh30lUXxIS876bCYDhl23CLRr2QShcBzaUXG2t_xVB',
      PASSWORD_HASH_MEMORY_KIB: '1024',
      PASSWORD_HASH_TIME_COST: '1',
      RATE_LIMIT_PER_SECOND: '0',
    };
    const p1 = await startProcess({ ...env, PORT: String(port1) });
    await startProcess({ ...env, PORT: String(port2) });
    const http = new HttpClient(`http://127.0.0.1:${port1}`);
    const [alice, bob] = [await http.register(), await http.register()];
    const conv = (await http.post('/conversations', { participant_ids: [bob.id] }, alice.token)).body;
    const ws1 = `ws://127.0.0.1:${port1}/ws`;
    const ws2 = `ws://127.0.0.1:${port2}/ws`;
    const watchers = [await connect(ws2, bob.token), await connect(ws1, bob.token), await connect(ws2, alice.token)];
    const sender = await connect(ws1, alice.token);

    const acked = new Set<number>();
    const errors = new Set<string>();
    let restart: Promise<void> | null = null;
    for (let i = 0; i < 120; i++) {
      if (i === 40) {
        restart = (async () => {
          await db.stop();
          await sleep(1_500);
          db = await startEmbeddedPostgres({ dataDir: dir, port: dbPort, logger: silentLogger });
        })();
        await sleep(200);
      }
      for (let attempt = 0; ; attempt++) {
        const answer = await sender.request('sendMessage', { conversation_id: conv.id, content: `r${i}`, client_id: `restart-${i}` });
        if (answer.event === 'ack') {
          acked.add(answer.data.id);
          break;
        }
        errors.add(answer.error!.code);
        expect(attempt).toBeLessThan(300);
        await sleep(100);
      }
    }
    await restart;
    expect([...errors]).toContain('SERVICE_UNAVAILABLE');
    expect(acked.size).toBe(120);
    const expected = [...acked].sort((x, y) => x - y);
    for (const w of watchers) await eventually(() => received(w.frames, conv.id).length >= expected.length, 30_000);
    // A last message after everything: once it is in everywhere, so is any duplicate there could be.
    const last = await sender.request('sendMessage', { conversation_id: conv.id, content: 'last', client_id: 'restart-last' });
    expected.push(last.data.id);
    for (const w of watchers) await eventually(() => received(w.frames, conv.id).includes(last.data.id), 30_000);
    for (const w of watchers) expect(received(w.frames, conv.id)).toEqual(expected);
    expect(p1.output()).toMatch(/fan-out broker back; missed messages replayed/);
    await db.stop();
  }, 120_000);

  it('a worker killed with SIGKILL: its clients reconnect to another worker and recover exactly what they missed with since', async () => {
    const port = await freePort();
    const sup = await startProcess(
      {
        WORKERS: '2',
        PORT: String(port),
        HOST: '127.0.0.1',
        DATA_DIR: tempDir('chat-workers-'),
        PASSWORD_HASH_MEMORY_KIB: '1024',
        PASSWORD_HASH_TIME_COST: '1',
        RATE_LIMIT_PER_SECOND: '0',
      },
      /listening on[\s\S]*listening on/,
    );
    const pids = [...sup.output().matchAll(/"slot":\d+,"pid":(\d+),"msg":"worker started"/g)].map((m) => Number(m[1]));
    expect(pids).toHaveLength(2);
    const http = new HttpClient(`http://127.0.0.1:${port}`);
    const [alice, bob] = [await http.register(), await http.register()];
    const conv = (await http.post('/conversations', { participant_ids: [bob.id] }, alice.token)).body;
    const url = `ws://127.0.0.1:${port}/ws`;
    const bobs = await Promise.all(Array.from({ length: 8 }, () => connect(url, bob.token)));
    const sendSome = async (n: number, tag: string) => {
      const out: number[] = [];
      for (let i = 0; i < n; i++) out.push((await http.post(`/conversations/${conv.id}/messages`, { content: `${tag}${i}` }, alice.token)).body.id);
      return out;
    };
    const before = await sendSome(5, 'before');
    for (const b of bobs) await eventually(() => received(b.frames, conv.id).length === 5);

    let closedSockets: WsClient[] = [];
    for (const pid of pids) {
      process.kill(pid, 'SIGKILL');
      await sleep(300);
      closedSockets = bobs.filter((b) => b.socket.readyState !== b.socket.OPEN);
      if (closedSockets.length > 0) break;
    }
    expect(closedSockets.length).toBeGreaterThan(0);
    expect(closedSockets.length).toBeLessThan(bobs.length);

    const missed = await sendSome(5, 'during');
    for (const dropped of closedSockets) {
      const lastSeen = Math.max(...received(dropped.frames, conv.id));
      expect(lastSeen).toBe(before.at(-1));
      const again = await connect(url, bob.token);
      const caughtUp = await again.request('joinConversation', { conversation_id: conv.id, since: lastSeen });
      expect(caughtUp.data.messages.map((m: { id: number }) => m.id)).toEqual(missed);
      expect(caughtUp.data.has_more).toBe(false);
    }
    for (const b of bobs.filter((x) => !closedSockets.includes(x))) {
      await eventually(() => received(b.frames, conv.id).length === 10);
    }
    await sup.waitFor('worker exited; restarting');
    await sup.waitFor(/worker started[\s\S]*worker started[\s\S]*worker started/);
    sup.child.kill('SIGTERM');
    expect(await sup.exited).toBe(0);
  }, 120_000);
});
