/**
 * `npm run bench`: measures the server and a bare floor server (bench/floor)
 * in the same run, on the same machine and PostgreSQL, and reports each figure
 * beside the floor's and as a ratio to it (docs/BENCHMARKS.md).
 *
 *   npm run bench -- [--scenarios closed-loop,fanout,memory,idle,cross,storm,unread,brokers,outbound] [--seconds 10] [--rounds 1]
 *                    [--pairs 100] [--groups 10,100,1000] [--floor-lock on|off] [--server-env NAME=value ...]
 *                    [--memory-from 3000] [--memory-max 15000] [--memory-points 9] [--settle 5]
 *                    [--idle 20000] [--idle-workers 2] [--load-processes 2] [--out bench/results]
 *                    [--storm-clients 20000] [--storm-processes 0] [--storm-upgrades 6000] [--storm-in-flight 200]
 *                    [--storm-chatters 0.1] [--storm-rate 0.25] [--storm-timeout 0] [--storm-client-nice 10]
 *                    [--brokers postgres,nats,redis] [--broker-processes 2] [--brokers-rate 500]
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { startEmbeddedPostgres } from '../src/adapters/postgres/embedded/embedded-postgres-server.js';
import { postmasterPid } from './lib/process-stats.js';
import { quiet } from './lib/seed.js';
import { killAllServers } from './lib/server-process.js';
import { comparisonJson, comparisonMarkdown, fmt } from './lib/yardstick.js';
import { killAllBrokers } from './lib/broker-servers.js';
import { BROKER_NAMES, brokers, type BrokerName } from './scenarios/brokers.js';
import { cross, idle } from './scenarios/capacity.js';
import { closedLoop } from './scenarios/closed-loop.js';
import type { BenchContext, BenchOptions } from './scenarios/context.js';
import { fanout } from './scenarios/fanout.js';
import { memory } from './scenarios/memory.js';
import { outbound } from './scenarios/outbound.js';
import { storm } from './scenarios/storm.js';
import { unread } from './scenarios/unread.js';
import { killAllFleets } from './lib/storm-fleet.js';

const SCENARIOS: Record<string, (ctx: BenchContext) => Promise<void>> = {
  'closed-loop': closedLoop,
  fanout,
  memory,
  idle,
  cross,
  storm,
  unread,
  brokers,
  outbound,
};

const { values: args } = parseArgs({
  options: {
    scenarios: { type: 'string', default: 'closed-loop,fanout,memory' },
    seconds: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '1' },
    pairs: { type: 'string', default: '100' },
    groups: { type: 'string', default: '10,100,1000' },
    'floor-lock': { type: 'string', default: 'on' },
    'server-env': { type: 'string', multiple: true, default: [] },
    'memory-from': { type: 'string', default: '3000' },
    'memory-max': { type: 'string', default: '15000' },
    'memory-points': { type: 'string', default: '9' },
    settle: { type: 'string', default: '5' },
    idle: { type: 'string', default: '20000' },
    'idle-workers': { type: 'string', default: '2' },
    'load-processes': { type: 'string', default: '2' },
    out: { type: 'string', default: 'bench/results' },
    'storm-clients': { type: 'string', default: '20000' },
    'storm-processes': { type: 'string', default: '0' },
    'storm-upgrades': { type: 'string', default: '6000' },
    'storm-in-flight': { type: 'string', default: '200' },
    'storm-chatters': { type: 'string', default: '0.1' },
    'storm-rate': { type: 'string', default: '0.25' },
    'storm-timeout': { type: 'string', default: '0' },
    'storm-client-nice': { type: 'string', default: '10' },
    brokers: { type: 'string', default: BROKER_NAMES.join(',') },
    'broker-processes': { type: 'string', default: '2' },
    'brokers-rate': { type: 'string', default: '500' },
  },
});
const selected = args
  .scenarios!.split(',')
  .map((s) => s.trim())
  .filter(Boolean);
const unknown = selected.filter((s) => !SCENARIOS[s]);
if (unknown.length > 0) {
  console.error(`Unknown scenario(s): ${unknown.join(', ')}. Known: ${Object.keys(SCENARIOS).join(', ')}`);
  process.exit(64);
}
const brokerNames = args.brokers!.split(',').map((s) => s.trim());
const unknownBrokers = brokerNames.filter((b) => !(BROKER_NAMES as readonly string[]).includes(b));
if (unknownBrokers.length > 0 || brokerNames.length === 0) {
  console.error(`Unknown broker(s): ${unknownBrokers.join(', ')}. Known: ${BROKER_NAMES.join(', ')}`);
  process.exit(64);
}
const options: BenchOptions = {
  seconds: Number(args.seconds),
  rounds: Math.max(1, Number(args.rounds)),
  pairs: Number(args.pairs),
  groups: args.groups!.split(',').map(Number),
  loadProcesses: Number(args['load-processes']),
  floorLock: args['floor-lock'] !== 'off',
  serverEnv: Object.fromEntries(
    args['server-env']!.map((kv) => {
      const at = kv.indexOf('=');
      if (at <= 0) throw new Error(`--server-env ${kv}: expected NAME=value`);
      return [kv.slice(0, at), kv.slice(at + 1)];
    }),
  ),
  memoryFrom: Number(args['memory-from']),
  memoryMax: Number(args['memory-max']),
  memoryPoints: Number(args['memory-points']),
  settleSeconds: Number(args.settle),
  idle: Number(args.idle),
  idleWorkers: Number(args['idle-workers']),
  stormClients: Number(args['storm-clients']),
  stormProcesses: Number(args['storm-processes']),
  stormUpgrades: Number(args['storm-upgrades']),
  stormInFlight: Number(args['storm-in-flight']),
  stormChatters: Number(args['storm-chatters']),
  stormRate: Number(args['storm-rate']),
  stormTimeout: Number(args['storm-timeout']),
  stormClientNice: Number(args['storm-client-nice']),
  brokers: brokerNames as BrokerName[],
  brokerProcesses: Math.max(2, Number(args['broker-processes'])),
  brokersRate: Number(args['brokers-rate']),
};

const root = path.resolve(import.meta.dirname, '..');
const git = (...a: string[]) => {
  try {
    return execFileSync('git', a, { cwd: root, encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
};
const commit = `${git('rev-parse', '--short', 'HEAD') || 'unknown'}${git('status', '--porcelain', '--untracked-files=no') ? '+uncommitted' : ''}`;

function uwsBuild(): string {
  const require = createRequire(import.meta.url);
  const pkg = require('@trufflesuite/uws-js-unofficial/package.json') as { version: string };
  return `@trufflesuite/uws-js-unofficial ${pkg.version} native ABI ${process.versions.modules}`;
}

async function postgresVersion(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ v: string; s: string }>("SELECT current_setting('server_version') AS v, current_setting('synchronous_commit') AS s");
    return `PostgreSQL ${rows[0]!.v} (synchronous_commit ${rows[0]!.s})`;
  } finally {
    await client.end();
  }
}

const load = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

let cleanup: (() => Promise<void>) | null = null;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`\n${signal}: stopping every server, client process and the database`);
    killAllServers();
    killAllFleets();
    killAllBrokers();
    void (cleanup?.() ?? Promise.resolve()).finally(() => process.exit(130));
  });
}

async function main(): Promise<void> {
  let base = process.env.DATABASE_URL;
  let stopDb: (() => Promise<void>) | null = null;
  let dir: string | null = null;
  cleanup = async () => {
    killAllServers();
    killAllFleets();
    killAllBrokers();
    const stop = stopDb;
    stopDb = null;
    await stop?.().catch(() => undefined);
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = null;
  };
  try {
    if (!base) {
      dir = mkdtempSync(path.join(os.tmpdir(), 'chat-bench-'));
      chmodSync(dir, 0o711);
      const db = await startEmbeddedPostgres({ dataDir: dir, logger: quiet });
      base = db.url;
      stopDb = db.stop;
    }
    const postgresPid = await postmasterPid(base);
    const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Linux ${os.release()}, Node ${process.version}, ${uwsBuild()}, ${await postgresVersion(base)}`;
    const date = new Date().toISOString();
    const loadBefore = load();
    console.log(`benchmarking ${commit} on ${machine}; load average ${loadBefore}`);
    if (postgresPid === null) console.log("PostgreSQL's processes are not visible from here: its CPU is not reported.");
    const ctx: BenchContext = { base, postgresPid, options, comparisons: [], absolute: [], notes: [] };
    for (const name of selected) {
      console.log(`scenario ${name}`);
      await SCENARIOS[name]!(ctx);
    }
    const loadAfter = load();
    write({ ctx, date, machine, loadBefore, loadAfter });
  } finally {
    await cleanup();
  }
}

function write(run: { ctx: BenchContext; date: string; machine: string; loadBefore: string; loadAfter: string }): void {
  const { ctx, date, machine } = run;
  const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  const absolute = ctx.absolute.length
    ? [
        '### Without a floor (absolute; comparable only within this run)',
        '',
        '| scenario | variant | figures |',
        '|---|---|---|',
        ...ctx.absolute.map(
          (r) =>
            `| ${r.scenario} | ${r.variant} | ${Object.entries(r.figures)
              .map(([k, v]) => `${k}=${typeof v === 'string' ? v : fmt(v, 1)}`)
              .join(', ')} |`,
        ),
      ].join('\n')
    : '';
  const md = [
    `# Benchmark ${date.slice(0, 10)}, commit ${commit}`,
    '',
    `- Date: ${date}`,
    `- Commit: ${commit}`,
    `- Machine: ${machine}`,
    `- Load average (1, 5, 15 min) before: ${run.loadBefore}; after: ${run.loadAfter}`,
    `- Command: \`${command}\``,
    ...(Object.keys(options.serverEnv).length
      ? [
          `- Added to the server's environment: ${Object.entries(options.serverEnv)
            .map(([k, v]) => `${k}=${v}`)
            .join(' ')}`,
        ]
      : []),
    '',
    ...ctx.comparisons.flatMap((c) => [comparisonMarkdown(c), '']),
    absolute,
    ...ctx.notes.map((n) => `- ${n}`),
  ].join('\n');
  const stamp = date.replace(/[:.]/g, '-');
  mkdirSync(args.out!, { recursive: true });
  writeFileSync(
    path.join(args.out!, `${stamp}.json`),
    JSON.stringify(
      {
        date,
        commit,
        machine,
        load: { before: run.loadBefore, after: run.loadAfter },
        command,
        options,
        comparisons: ctx.comparisons.map(comparisonJson),
        absolute: ctx.absolute,
        notes: ctx.notes,
      },
      null,
      2,
    ),
  );
  writeFileSync(path.join(args.out!, `${stamp}.md`), `${md}\n`);
  console.log(`\n${md}\n\nwritten to ${args.out}/${stamp}.{json,md}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
