import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freshDatabase } from '../support/database.js';
import { HttpClient } from '../support/http-client.js';
import { freePort, killAll, PROCESS_TEST_ENV, startProcess, type ServerProcess } from '../support/server-process.js';
import { WsClient } from '../support/ws-client.js';

const clients: WsClient[] = [];
const processes: ServerProcess[] = [];
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'chat-side-'));
chmodSync(dataDir, 0o711);
const postmasterPid = (): number | null => {
  const file = path.join(dataDir, 'postgres', 'postmaster.pid');
  return existsSync(file) ? Number(readFileSync(file, 'utf8').split('\n')[0]) : null;
};

afterAll(async () => {
  for (const c of clients) c.socket.terminate();
  for (const p of processes) p.child.kill('SIGTERM');
  await Promise.race([Promise.all(processes.map((p) => p.exited)), new Promise((r) => setTimeout(r, 15_000))]);
  killAll();
  // An embedded PostgreSQL still running (a test that failed half-way) is stopped too.
  const pid = postmasterPid();
  if (pid) {
    try {
      process.kill(pid, 'SIGQUIT');
    } catch {
      // already gone
    }
  }
  rmSync(dataDir, { recursive: true, force: true });
});

const logLines = (p: ServerProcess) =>
  p
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { level: number; msg: string });

/** A user on each process in one conversation, each on /ws of their own process: a message sent on the first reaches the second. */
async function converseAcross(first: ServerProcess, second: ServerProcess, content: string) {
  const [http1, http2] = [first, second].map((p) => new HttpClient(`http://127.0.0.1:${p.port}`));
  const [ann, ben] = [await http1!.register(), await http2!.register()];
  const conv = (await http1!.post('/conversations', { participant_ids: [ben.id] }, ann.token)).body;
  const [a, b] = [await WsClient.connect(`ws://127.0.0.1:${first.port}/ws`, ann.token), await WsClient.connect(`ws://127.0.0.1:${second.port}/ws`, ben.token)];
  clients.push(a, b);
  const sent = await a.request('sendMessage', { conversation_id: conv.id, content });
  expect(sent.event).toBe('ack');
  expect((await b.event('receiveMessage', (d) => d.id === sent.data.id)).data.content).toBe(content);
  return { http2: http2!, ben, conv, b };
}

describe('two processes on one host with default settings', () => {
  it('both serve and deliver to each other, though only one of them can hold the default metrics port', async () => {
    const databaseUrl = await freshDatabase('side');
    // Only PORT differs; METRICS_PORT is left to its real default, which both want.
    const env = async () => ({ ...PROCESS_TEST_ENV, DATABASE_URL: databaseUrl, PORT: String(await freePort()), METRICS_PORT: undefined });
    const first = await startProcess(await env());
    processes.push(first);
    const second = await startProcess(await env());
    processes.push(second);

    const served = processes.map((p) => logLines(p).filter((l) => l.msg.startsWith('metrics on ')).length);
    const unavailable = processes.map((p) => logLines(p).filter((l) => l.level === 40 && l.msg.startsWith('metrics unavailable')).length);
    // Each process says what became of its metrics port, once; one port cannot serve both.
    expect(served.map((n, i) => n + unavailable[i]!)).toEqual([1, 1]);
    expect(unavailable[1]).toBe(1);
    for (const p of processes) {
      const ready = await fetch(`http://127.0.0.1:${p.port}/readyz`);
      expect(ready.status).toBe(200);
      const body = (await ready.json()) as { metrics_port: { state: string; port: number } };
      expect(body.metrics_port).toMatchObject({ state: logLines(p).some((l) => l.msg.startsWith('metrics on ')) ? 'serving' : 'unavailable', port: 9464 });
    }

    await converseAcross(first, second, 'from the first process');
    for (const p of processes) expect(p.child.exitCode).toBeNull();
  }, 90_000);

  it('on the embedded database of one DATA_DIR: the second shares the first one’s PostgreSQL, they deliver to each other, and the second serves on once the first stops', async () => {
    // Only PORT differs: both want the embedded PostgreSQL under the same DATA_DIR.
    const env = async () => ({ ...PROCESS_TEST_ENV, DATABASE_URL: '', DATA_DIR: dataDir, PORT: String(await freePort()), METRICS_PORT: undefined });
    const first = await startProcess(await env());
    const second = await startProcess(await env());
    processes.push(first, second);
    expect(logLines(second).some((l) => l.msg === 'embedded PostgreSQL shared with the server that started it')).toBe(true);

    const { http2, ben, conv, b } = await converseAcross(first, second, 'over the shared database');

    // The first stops, and with it the PostgreSQL it started: the second starts it again and serves on.
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    const deadline = Date.now() + 30_000;
    let answer = await b.request('sendMessage', { conversation_id: conv.id, content: 'after the first stopped 0' });
    for (let i = 1; answer.event !== 'ack' && Date.now() < deadline; i++) {
      expect(answer.error?.code).toBe('SERVICE_UNAVAILABLE');
      await new Promise((r) => setTimeout(r, 200));
      answer = await b.request('sendMessage', { conversation_id: conv.id, content: `after the first stopped ${i}` });
    }
    expect(answer.event).toBe('ack');
    expect(logLines(second).some((l) => l.msg === 'embedded PostgreSQL taken over from the server that stopped it')).toBe(true);
    expect((await http2.get(`/conversations/${conv.id}/messages`, ben.token)).body.messages.map((m: { content: string }) => m.content)).toContain(
      'over the shared database',
    );
  }, 120_000);
});
