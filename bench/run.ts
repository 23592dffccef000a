/**
 * `npm run bench`: starts the server as its own process on a real PostgreSQL,
 * drives it with real clients from separate load-generator processes, and
 * reports throughput, latency, server CPU and memory for each scenario, with
 * the original stack (Socket.IO on Node's HTTP server) as a baseline.
 *
 *   npm run bench -- [--scenarios closed-loop,fanout,idle,cross] [--seconds 10]
 *                    [--pairs 100] [--groups 10,100,1000] [--idle 20000] [--idle-workers 2]
 *                    [--load-processes 2]
 */
import { mkdirSync, mkdtempSync, chmodSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startEmbeddedPostgres } from '../src/adapters/embedded/embedded-postgres-server.js';
import { drive, hold, type DriveResult } from './lib/drive.js';
import { freshDatabase, quiet, seed } from './lib/seed.js';
import { startServer, type BenchServer } from './lib/server-process.js';
import { ProcessSampler } from './lib/process-stats.js';
import { freePort } from './lib/ports.js';

const { values: args } = parseArgs({
  options: {
    scenarios: { type: 'string', default: 'closed-loop,fanout,idle,cross' },
    seconds: { type: 'string', default: '10' },
    pairs: { type: 'string', default: '100' },
    groups: { type: 'string', default: '10,100,1000' },
    idle: { type: 'string', default: '20000' },
    'idle-workers': { type: 'string', default: '2' },
    'load-processes': { type: 'string', default: '2' },
    out: { type: 'string', default: 'bench/results' },
  },
});
const seconds = Number(args.seconds);
const pairs = Number(args.pairs);
const loadProcesses = Number(args['load-processes']);
const scenarios = new Set(args.scenarios!.split(','));

interface Row {
  scenario: string;
  variant: string;
  result: Partial<DriveResult> & { [key: string]: unknown };
}
const rows: Row[] = [];
const notes: string[] = [];

async function withServer<T>(env: Record<string, string>, run: (server: BenchServer) => Promise<T>): Promise<T> {
  const server = await startServer(env);
  const wanted = env.TRANSPORT ?? 'uws';
  if (!server.output().includes(`"transport":"${wanted}"`)) {
    await server.stop();
    console.error(`The server did not start on the ${wanted} transport: figures would not describe it. Refusing to report.`);
    process.exit(2);
  }
  try {
    return await run(server);
  } finally {
    await server.stop();
  }
}

async function closedLoop(base: string): Promise<void> {
  const runOne = async (transport: 'ws' | 'socketio') => {
    const url = await freshDatabase(base, 'closed');
    const data = await seed(url, { users: pairs * 2, pairs });
    const port = await freePort();
    // The Socket.IO baseline runs on Node's own HTTP server, as the original stack did.
    return withServer({ DATABASE_URL: url, PORT: String(port), ...(transport === 'socketio' ? { TRANSPORT: 'node' } : { TRANSPORT: 'uws' }) }, async (server) => {
      const clients = data.pairs.flatMap((p) => [p.a, p.b].map((u) => ({ token: u.token, userId: u.id, conversationId: p.conversationId, sender: true })));
      const target = transport === 'ws' ? `ws://127.0.0.1:${port}/ws` : `http://127.0.0.1:${port}`;
      const max = await drive({ url: target, transport, mode: 'closed-loop', clients, processes: loadProcesses, seconds, serverPids: server.pids });
      rows.push({ scenario: '1 closed loop, 1:1', variant: transport === 'ws' ? 'uWS /ws' : 'Socket.IO on Node HTTP (baseline)', result: { ...max } });
      if (transport === 'ws') {
        const rate = (0.8 * max.ackedPerSecond) / clients.length;
        const paced = await drive({ url: target, transport, mode: 'rate', ratePerSender: rate, clients, processes: loadProcesses, seconds, serverPids: server.pids });
        rows.push({ scenario: '1 closed loop, 1:1', variant: `uWS /ws at 80% (${Math.round(0.8 * max.ackedPerSecond)}/s offered)`, result: { ...paced } });
      }
      return max;
    });
  };
  const native = await runOne('ws');
  const baseline = await runOne('socketio');
  notes.push(`Scenario 1: uWS /ws acknowledged ${(native.ackedPerSecond / baseline.ackedPerSecond).toFixed(1)}x the Socket.IO baseline's messages per second in the same run.`);
}

async function fanout(base: string): Promise<void> {
  const rates: Record<number, number> = { 10: 1000, 100: 400, 1000: 150 };
  for (const size of args.groups!.split(',').map(Number)) {
    const url = await freshDatabase(base, `fanout${size}`);
    const data = await seed(url, { users: size, groups: [size] });
    const port = await freePort();
    await withServer({ DATABASE_URL: url, PORT: String(port) }, async (server) => {
      const group = data.groups[0]!;
      const clients = group.members.map((m, i) => ({ token: m.token, userId: m.id, conversationId: group.conversationId, sender: i === 0 }));
      const rate = rates[size] ?? Math.max(10, 100_000 / size);
      const result = await drive({ url: `ws://127.0.0.1:${port}/ws`, transport: 'ws', mode: 'rate', ratePerSender: rate, clients, processes: loadProcesses, seconds, serverPids: server.pids });
      const perThousand = (result.serverCores * 1000) / Math.max(1, result.deliveriesPerSecond);
      rows.push({ scenario: `2 fan-out, group of ${size}`, variant: `${rate} msg/s offered`, result: { ...result, serverCpuMsPer1000Deliveries: perThousand * 1000 } });
    });
  }
}

async function idle(base: string): Promise<void> {
  const total = Number(args.idle);
  const workers = Number(args['idle-workers']);
  const url = await freshDatabase(base, 'idle');
  const data = await seed(url, { users: total });
  const port = await freePort();
  await withServer({ DATABASE_URL: url, PORT: String(port), WORKERS: String(workers), DB_POOL_MAX: '5' }, async (server) => {
    await new Promise((r) => setTimeout(r, 3000));
    const sampler = new ProcessSampler(server.pids);
    const before = sampler.rssBytes();
    const started = performance.now();
    // One client process per 15,000 sockets (20,000 descriptors each), over several loopback addresses.
    const held = await hold({
      url: `ws://127.0.0.1:${port}/ws`,
      transport: 'ws',
      mode: 'idle',
      clients: data.users.map((u) => ({ token: u.token, userId: u.id, conversationId: 0, sender: false })),
      processes: Math.max(1, Math.ceil(total / 15_000)),
      localAddresses: ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4'],
    });
    const connectSeconds = (performance.now() - started) / 1000;
    await new Promise((r) => setTimeout(r, 2000));
    const after = sampler.rssBytes();
    rows.push({
      scenario: '3 idle connections',
      variant: `${workers} server workers`,
      result: {
        connected: held.connected,
        failedConnections: held.failed,
        connectsPerSecond: held.connected / connectSeconds,
        serverRssMB: after / 1024 / 1024,
        serverRssBeforeMB: before / 1024 / 1024,
        bytesPerConnection: (after - before) / Math.max(1, held.connected),
      },
    });
    await held.release();
  });
}

async function cross(base: string): Promise<void> {
  const url = await freshDatabase(base, 'cross');
  const data = await seed(url, { users: pairs * 2, pairs });
  const [p1, p2] = [await freePort(), await freePort()];
  const s1 = await startServer({ DATABASE_URL: url, PORT: String(p1) });
  try {
    await withServer({ DATABASE_URL: url, PORT: String(p2) }, async (s2) => {
      const offered = 5_000;
      const clients = data.pairs.flatMap((p) => [
        { token: p.a.token, userId: p.a.id, conversationId: p.conversationId, sender: true, url: `ws://127.0.0.1:${p1}/ws` },
        { token: p.b.token, userId: p.b.id, conversationId: p.conversationId, sender: false, url: `ws://127.0.0.1:${p2}/ws` },
      ]);
      const result = await drive({
        url: `ws://127.0.0.1:${p1}/ws`, transport: 'ws', mode: 'rate', ratePerSender: offered / pairs, clients,
        processes: loadProcesses, seconds, serverPids: () => [...s1.pids(), ...s2.pids()],
      });
      rows.push({ scenario: '4 two processes, clients split', variant: `${offered} msg/s offered`, result: { ...result, crossProcessDeliveriesPerSecond: result.deliveriesPerSecond / 2 } });
    });
  } finally {
    await s1.stop();
  }
}

const fmt = (n: unknown, digits = 0) => (typeof n === 'number' && Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '–');

function markdown(): string {
  const lines = [
    '| scenario | variant | acked/s | deliveries/s | ack p50 / p99 / p99.9 ms | e2e p50 / p99 / p99.9 ms | errors | server cores | server peak RSS MB | load gen max cores | other |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const { scenario, variant, result: r } of rows) {
    const lat = (p?: { p50: number; p99: number; p999: number }) => (p && p.p50 === p.p50 ? `${fmt(p.p50, 1)} / ${fmt(p.p99, 1)} / ${fmt(p.p999, 1)}` : '–');
    const other = Object.entries(r)
      .filter(([k]) => ['serverCpuMsPer1000Deliveries', 'bytesPerConnection', 'connectsPerSecond', 'serverRssMB', 'serverRssBeforeMB', 'crossProcessDeliveriesPerSecond', 'connected', 'failedConnections'].includes(k))
      .map(([k, v]) => `${k}=${fmt(v, k === 'serverCpuMsPer1000Deliveries' ? 2 : 0)}`)
      .join(', ');
    lines.push(
      `| ${scenario} | ${variant} | ${fmt(r.ackedPerSecond)} | ${fmt(r.deliveriesPerSecond)} | ${lat(r.ack as never)} | ${lat(r.e2e as never)} | ${fmt(r.errors)} | ${fmt(r.serverCores, 2)} | ${fmt(r.serverPeakRssMB)} | ${r.loadGenMaxCores === undefined ? '–' : `${fmt(r.loadGenMaxCores, 2)}${r.loadGenBottleneck ? ' (bottleneck)' : ''}`} | ${other} |`,
    );
  }
  return [lines.join('\n'), '', ...notes.map((n) => `- ${n}`)].join('\n');
}

async function main(): Promise<void> {
  let base = process.env.DATABASE_URL;
  let stopDb: (() => Promise<void>) | null = null;
  let dir: string | null = null;
  if (!base) {
    dir = mkdtempSync(path.join(os.tmpdir(), 'chat-bench-'));
    chmodSync(dir, 0o711);
    const db = await startEmbeddedPostgres({ dataDir: dir, logger: quiet });
    base = db.url;
    stopDb = db.stop;
  }
  const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}`;
  console.log(`benchmarking on ${machine}`);
  try {
    if (scenarios.has('closed-loop')) await closedLoop(base);
    if (scenarios.has('fanout')) await fanout(base);
    if (scenarios.has('idle')) await idle(base);
    if (scenarios.has('cross')) await cross(base);
  } finally {
    await stopDb?.();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
  const table = markdown();
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  mkdirSync(args.out!, { recursive: true });
  const command = `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim();
  writeFileSync(path.join(args.out!, `${stamp}.json`), JSON.stringify({ machine, command, date: new Date().toISOString(), rows, notes }, null, 2));
  writeFileSync(path.join(args.out!, `${stamp}.md`), `Measured ${new Date().toISOString()} on ${machine}\n\nCommand: \`${command}\`\n\n${table}\n`);
  console.log(`\n${table}\n\nwritten to ${args.out}/${stamp}.{json,md}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
