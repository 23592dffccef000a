import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HttpClient } from '../support/http-client.js';
import { freePort, PROCESS_TEST_ENV } from '../support/server-process.js';
import { testTransport } from '../support/transport.js';
import { WsClient } from '../support/ws-client.js';

/**
 * `npm start` stopped the way a terminal and most supervisors stop it: one
 * signal to the whole process group (npm, and whatever runs under it). Every
 * run reuses one DATA_DIR, so the cluster is initialised once.
 */
const root = path.resolve(import.meta.dirname, '../..');
// Made by the first start, so a run that skips these tests leaves no folder behind.
let folder: string | null = null;
const dataDirOf = (): string => {
  if (!folder) {
    folder = mkdtempSync(path.join(os.tmpdir(), 'chat-signals-'));
    chmodSync(folder, 0o711);
  }
  return folder;
};
const groups = new Set<number>();
const postmasters = new Set<number>();

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

afterAll(async () => {
  for (const pgid of groups) if (alive(-pgid)) process.kill(-pgid, 'SIGKILL');
  for (const pid of postmasters) if (alive(pid)) process.kill(pid, 'SIGQUIT');
  for (let i = 0; i < 100 && [...postmasters].some(alive); i++) await new Promise((r) => setTimeout(r, 50));
  if (folder) rmSync(folder, { recursive: true, force: true });
});

interface Started {
  readonly child: ChildProcess;
  readonly port: number;
  readonly postmaster: number;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The `msg` of every line of the server's own log, in order (lines relayed from stderr are a stream of their own). */
  messages(): string[];
}

/** `npm <args>` as a user runs it, leading its own process group; resolves once `listens` lines say "listening on". */
async function npm(args: string[], env: Record<string, string> = {}, listens = 1): Promise<Started> {
  const child = spawn('npm', args, {
    cwd: root,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      ...PROCESS_TEST_ENV,
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      DATABASE_URL: '',
      DATA_DIR: dataDirOf(),
      TRANSPORT: testTransport(),
      METRICS_PORT: '0',
      ...env,
    },
  });
  groups.add(child.pid!);
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const lines = () =>
    output.split('\n').flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
  const started = Date.now();
  while (lines().filter((l) => l.msg?.toString().startsWith('listening on')).length < listens) {
    if (child.exitCode !== null || Date.now() - started > 60_000) throw new Error(`npm ${args.join(' ')} did not start: ${output.slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  const clusterDir = lines().find((l) => l.msg === 'embedded PostgreSQL started')!.clusterDir as string;
  const postmaster = Number(readFileSync(path.join(clusterDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  postmasters.add(postmaster);
  const port = Number(lines().find((l) => l.msg?.toString().startsWith('listening on'))!.port);
  return {
    child,
    port,
    postmaster,
    exited,
    messages: () =>
      lines()
        .filter((l) => l.source !== 'stderr')
        .map((l) => String(l.msg)),
  };
}

let users: { a: { token: string }; conversationId: number } | null = null;

/** A client that sends without pause (32 in flight, each answer sends the next); resolves once 50 were acknowledged. */
async function busyClient(port: number) {
  if (!users) {
    const http = new HttpClient(`http://127.0.0.1:${port}`);
    const [a, b] = [await http.register(), await http.register()];
    users = { a, conversationId: (await http.post('/conversations', { participant_ids: [b.id] }, a.token)).body.id };
  }
  const { a, conversationId } = users;
  const ws = await WsClient.connect(`ws://127.0.0.1:${port}/ws`, a.token);
  let sent = 0;
  let acked = 0;
  const sendOne = () => ws.sendRaw(JSON.stringify({ event: 'sendMessage', data: { conversation_id: conversationId, content: `m${sent}` }, ack: ++sent }));
  let flowing!: () => void;
  const traffic = new Promise<void>((resolve) => (flowing = resolve));
  ws.socket.on('message', (raw) => {
    const frame = JSON.parse(raw.toString()) as { event: string; ack?: number };
    if (frame.ack === undefined) return;
    if (frame.event === 'ack' && ++acked === 50) flowing();
    if (ws.socket.readyState === ws.socket.OPEN) sendOne();
  });
  for (let i = 0; i < 32; i++) sendOne();
  await traffic;
  return ws;
}

/** Signals the whole group, then checks everything a graceful stop promises. */
async function stopGroup(started: Started, ws: WsClient, signal: NodeJS.Signals) {
  process.kill(-started.child.pid!, signal);
  const [close, exit] = await Promise.all([ws.closed, started.exited]);
  expect({ close: close.code, exit, last: started.messages().at(-1) }).toEqual({ close: 1001, exit: { code: 0, signal: null }, last: 'stopped' });
  expect(alive(started.postmaster), 'the embedded PostgreSQL is gone').toBe(false);
  expect(alive(-started.child.pid!), 'no process of the group is left').toBe(false);
}

/** Rounds per signal: a lost race showed up about once in ten stops. */
const ROUNDS = { SIGTERM: 20, SIGINT: 10 } as const;

// Signals reach npm, node and the server the same way whichever transport serves: the rounds run once per
// Node.js, on the first transport it serves (uWS and its stderr relay where a native build loads).
describe.skipIf(!process.env.TEST_FIRST_TRANSPORT)('stopping `npm start` by signalling its whole process group', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`${signal} to the group, ${ROUNDS[signal]} times while a client sends: exit 0, close 1001, the log ends with "stopped", the embedded PostgreSQL is gone`, async () => {
      for (let round = 0; round < ROUNDS[signal]; round++) {
        const started = await npm(['start']);
        const ws = await busyClient(started.port);
        await stopGroup(started, ws, signal);
      }
    }, 600_000);
  }

  it('SIGTERM to the group of `WORKERS=2 npm start` while a client sends: exit 0, close 1001, the supervisor logs "stopped", the embedded PostgreSQL is gone', async () => {
    const started = await npm(['start'], { WORKERS: '2', PORT: String(await freePort()) }, 2);
    const ws = await busyClient(started.port);
    await stopGroup(started, ws, 'SIGTERM');
  }, 120_000);

  it('SIGINT to the group of `npm run dev` while a client sends: exit 0, close 1001, the log ends with "stopped", the embedded PostgreSQL is gone', async () => {
    const started = await npm(['run', 'dev']);
    const ws = await busyClient(started.port);
    await stopGroup(started, ws, 'SIGINT');
  }, 120_000);
});
