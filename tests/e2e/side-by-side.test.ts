import { afterAll, describe, expect, it } from 'vitest';
import { freshDatabase } from '../support/database.js';
import { HttpClient } from '../support/http-client.js';
import { freePort, killAll, PROCESS_TEST_ENV, startProcess, type ServerProcess } from '../support/server-process.js';
import { WsClient } from '../support/ws-client.js';

const clients: WsClient[] = [];
const processes: ServerProcess[] = [];

afterAll(async () => {
  for (const c of clients) c.socket.terminate();
  for (const p of processes) p.child.kill('SIGTERM');
  await Promise.race([Promise.all(processes.map((p) => p.exited)), new Promise((r) => setTimeout(r, 15_000))]);
  killAll();
});

const logLines = (p: ServerProcess) =>
  p
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { level: number; msg: string });

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

    const [http1, http2] = processes.map((p) => new HttpClient(`http://127.0.0.1:${p.port}`));
    const [ann, ben] = [await http1!.register(), await http2!.register()];
    const conv = (await http1!.post('/conversations', { participant_ids: [ben.id] }, ann.token)).body;
    const [a, b] = [
      await WsClient.connect(`ws://127.0.0.1:${first.port}/ws`, ann.token),
      await WsClient.connect(`ws://127.0.0.1:${second.port}/ws`, ben.token),
    ];
    clients.push(a, b);
    const sent = await a.request('sendMessage', { conversation_id: conv.id, content: 'from the first process' });
    expect(sent.event).toBe('ack');
    expect((await b.event('receiveMessage', (d) => d.id === sent.data.id)).data.content).toBe('from the first process');
    for (const p of processes) expect(p.child.exitCode).toBeNull();
  }, 90_000);
});
