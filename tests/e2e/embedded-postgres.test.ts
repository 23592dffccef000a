import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HttpClient } from '../support/http-client.js';
import { killAll, PROCESS_TEST_ENV, startProcess, type ServerProcess } from '../support/server-process.js';
import { WsClient } from '../support/ws-client.js';

/** The embedded PostgreSQL's life tied to its server's: restarted when it dies, gone when the server is killed. */
const dirs: string[] = [];
const postmasters = new Set<number>();

/** Running: it exists and is not a zombie left for a parent to reap (which /proc tells on Linux). */
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return !existsSync('/proc/self');
  }
};

afterAll(async () => {
  killAll();
  for (const pid of postmasters) if (alive(pid)) process.kill(pid, 'SIGQUIT');
  for (let i = 0; i < 100 && [...postmasters].some(alive); i++) await new Promise((r) => setTimeout(r, 50));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A server process on an embedded PostgreSQL in a fresh DATA_DIR. */
async function serverOnEmbedded(): Promise<{ server: ServerProcess; clusterDir: string }> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'chat-embedded-'));
  chmodSync(dataDir, 0o711);
  dirs.push(dataDir);
  const server = await startProcess({ ...PROCESS_TEST_ENV, DATA_DIR: dataDir, DATABASE_URL: '' });
  const line = server
    .output()
    .split('\n')
    .find((l) => l.includes('"embedded PostgreSQL started"'))!;
  const clusterDir = (JSON.parse(line) as { clusterDir: string }).clusterDir;
  postmasterOf(clusterDir);
  return { server, clusterDir };
}

/** The running postmaster's pid, from its lock file. */
function postmasterOf(clusterDir: string): number {
  const pid = Number(readFileSync(path.join(clusterDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  postmasters.add(pid);
  return pid;
}

describe('the embedded PostgreSQL', () => {
  it('is started again when it dies while the server runs: sends are refused only with SERVICE_UNAVAILABLE, then acknowledged again within 30 s, on the same connection', async () => {
    const { server, clusterDir } = await serverOnEmbedded();
    const http = new HttpClient(`http://127.0.0.1:${server.port}`);
    const [a, b] = [await http.register(), await http.register()];
    const conv = (await http.post('/conversations', { participant_ids: [b.id] }, a.token)).body;
    const ws = await WsClient.connect(`ws://127.0.0.1:${server.port}/ws`, a.token);
    const send = (n: number) => ws.request('sendMessage', { conversation_id: conv.id, content: `m${n}`, client_id: `c-${n}` });
    expect((await send(0)).event).toBe('ack');

    const first = postmasterOf(clusterDir);
    process.kill(first, 'SIGKILL');
    const refusals: string[] = [];
    const deadline = Date.now() + 30_000;
    let answer = await send(1);
    while (answer.event !== 'ack' && Date.now() < deadline) {
      refusals.push(String(answer.error?.code));
      await new Promise((r) => setTimeout(r, 100));
      answer = await send(1);
    }
    expect(answer.event).toBe('ack');
    expect(refusals.filter((code) => code !== 'SERVICE_UNAVAILABLE')).toEqual([]);
    // A backend of the killed postmaster may still answer a moment after it died (it notices when it next
    // waits), so the ack alone does not prove the restart: its log line and the new pid do.
    await server.waitFor('"embedded PostgreSQL restarted"', 30_000);
    expect(postmasterOf(clusterDir)).not.toBe(first);
    const page = await http.get(`/conversations/${conv.id}/messages`, b.token);
    expect(page.body.messages.map((m: { content: string }) => m.content)).toEqual(['m0', 'm1']);
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  }, 90_000);

  it('stops within 15 s after its server is killed with SIGKILL', async () => {
    const { server, clusterDir } = await serverOnEmbedded();
    const postmaster = postmasterOf(clusterDir);
    server.child.kill('SIGKILL');
    await server.exited;
    const deadline = Date.now() + 15_000;
    while (alive(postmaster) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(alive(postmaster)).toBe(false);
  }, 60_000);
});
