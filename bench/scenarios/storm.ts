/**
 * Reconnect storm (docs/BENCHMARKS.md): how fast the server lets clients back
 * in, and whether they come back complete.
 *
 * 1. Raw upgrade rate: authenticated upgrades per second into one server
 *    process with about `--storm-in-flight` handshakes in flight, beside the
 *    floor's rate measured the same way, as a ratio.
 * 2. and 3. `--storm-clients` clients in one-to-one conversations on
 *    WORKERS=2, a share of them chatting; then one worker is killed
 *    (SIGKILL), later the whole server is stopped (SIGTERM) and started again.
 *    The clients reconnect by the documented policy and catch up; each storm
 *    is timed from the disruption until every client is connected and caught
 *    up and every message acknowledged by then has reached its other
 *    participant. Lost and duplicated messages are counted at the end.
 */
import os from 'node:os';
import pg from 'pg';
import { dbActivity, describeActivity } from '../lib/db-activity.js';
import { childrenOf } from '../lib/process-stats.js';
import { freePort } from '../lib/ports.js';
import { ResourceSampler } from '../lib/resource-sampler.js';
import { seed } from '../lib/seed.js';
import { startServer, type BenchServer } from '../lib/server-process.js';
import { deal, StormFleet } from '../lib/storm-fleet.js';
import { runStorm, say, sumStats, type StormPhase } from '../lib/storm-phase.js';
import { OTHER_LOAD_WARNING, type Measured, type Metric } from '../lib/yardstick.js';
import type { StormPair } from '../storm-worker.js';
import { floorLabel, freshCheckpointedDatabase, sleep, withFloor, withServer, type BenchContext } from './context.js';

export const UPGRADE_METRICS: Metric[] = [
  { key: 'upgradesPerSecond', label: 'upgrades/s', digits: 0, better: 'higher', target: 0.7 },
  { key: 'serverUsPerUpgrade', label: 'server µs/upgrade', digits: 0, better: 'lower' },
  { key: 'postgresUsPerUpgrade', label: 'PG µs/upgrade', digits: 0, better: 'lower', absoluteOnly: true },
  { key: 'upgrades', label: 'upgraded', digits: 0, better: 'higher', absoluteOnly: true },
  { key: 'status503', label: '503s', digits: 0, better: 'lower', absoluteOnly: true },
  { key: 'otherAnswers', label: 'not 101/503', digits: 0, better: 'lower', absoluteOnly: true },
  { key: 'networkErrors', label: 'no answer', digits: 0, better: 'lower', absoluteOnly: true },
  { key: 'serverCores', label: 'server cores', digits: 2, better: 'lower', absoluteOnly: true },
  { key: 'clientCores', label: 'client cores', digits: 2, better: 'lower', absoluteOnly: true },
  { key: 'clientMaxCores', label: 'busiest client process, cores', digits: 2, better: 'lower', absoluteOnly: true },
  { key: 'otherCores', label: 'other load, cores', digits: 2, better: 'lower', absoluteOnly: true },
];

/**
 * Connections per source address, well under the ~28,000 ports of one
 * (source, destination) pair: bind() searches the ports of one parity first,
 * and slows down as they fill.
 */
const PER_ADDRESS = 2_500;
const addressesFor = (connections: number) => Array.from({ length: Math.max(4, Math.ceil(connections / PER_ADDRESS)) }, (_, i) => `127.0.0.${i + 1}`);

export async function storm(ctx: BenchContext): Promise<void> {
  const o = ctx.options;
  const users = o.stormClients + (o.stormClients % 2);
  // One descriptor per socket and 20,000 per process: keep each client process well below.
  const processes = o.stormProcesses > 0 ? o.stormProcesses : Math.max(4, Math.ceil(users / 5_000));
  if (users / processes > 18_000) throw new Error(`--storm-processes ${processes}: at most about 18,000 clients fit in one process`);
  if (o.stormUpgrades > 18_000) throw new Error('--storm-upgrades: one server process cannot hold more than about 18,000 sockets');
  const url = await freshCheckpointedDatabase(ctx, 'storm');
  const started = performance.now();
  say('seeding', true);
  const data = await seed(url, { users: Math.max(users, o.stormUpgrades + (o.stormUpgrades % 2)), pairs: Math.max(users, o.stormUpgrades) / 2 });
  // Tables filled in bulk a moment ago have no statistics yet; with 1,500 conversations
  // the profile query then scans every conversation per upgrade. A live database has them.
  await analyze(url);
  say(`seeded ${data.users.length} users in ${((performance.now() - started) / 1000).toFixed(1)} s; ${processes} client processes`);
  await upgradeRate(ctx, url, data.pairs, processes);
  await storms(ctx, url, data.pairs.slice(0, users / 2), processes);
  const took = (performance.now() - started) / 1000;
  say(`the scenario took ${took.toFixed(0)} s`);
  ctx.notes.push(`storm: the whole scenario took ${took.toFixed(0)} s (seeding included).`);
}

async function analyze(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('ANALYZE');
  } finally {
    await client.end();
  }
}

type Pairs = Awaited<ReturnType<typeof seed>>['pairs'];

/** Part 1: the same count of upgrades into the floor and into one server process, ~inFlight at a time. */
async function upgradeRate(ctx: BenchContext, url: string, pairs: Pairs, processes: number): Promise<void> {
  const n = ctx.options.stormUpgrades;
  const members = pairs.flatMap((p) => [p.a, p.b].map((u) => ({ u, conversationId: p.conversationId }))).slice(0, n);
  const addresses = addressesFor(n);
  const measure = async (label: string, server: BenchServer, target: string, queries: string[]): Promise<Measured> => {
    const fleet = new StormFleet(processes, ctx.options.stormClientNice);
    try {
      await fleet.stats(); // every process started
      const sampler = new ResourceSampler({ server: () => server.pids(), postgres: ctx.postgresPid, clients: fleet.pids });
      const dbBefore = await dbActivity(url);
      sampler.begin();
      const tallies = await fleet.upgrades(target, deal(queries, processes), ctx.options.stormInFlight, addresses);
      const use = sampler.end();
      await sleep(1_200);
      const db = describeActivity(
        await dbActivity(url),
        dbBefore,
        Math.max(
          1,
          tallies.reduce((s, t) => s + t.ok, 0),
        ),
        'upgrade',
      );
      const ok = tallies.reduce((s, t) => s + t.ok, 0);
      const seconds = (Math.max(...tallies.map((t) => t.lastAt)) - Math.min(...tallies.map((t) => t.startedAt))) / 1000;
      const count = (f: (t: (typeof tallies)[number]) => Record<string, number>) =>
        tallies.reduce((s, t) => s + Object.values(f(t)).reduce((a, b) => a + b, 0), 0);
      const clientMaxCores = Math.max(...tallies.map((t) => t.cpuSeconds)) / seconds;
      const figures = {
        upgradesPerSecond: ok / seconds,
        serverUsPerUpgrade: (use.serverCores * use.seconds * 1e6) / Math.max(1, ok),
        postgresUsPerUpgrade: (use.postgresCores * use.seconds * 1e6) / Math.max(1, ok),
        upgrades: ok,
        status503: tallies.reduce((s, t) => s + t.status503, 0),
        otherAnswers: count((t) => t.otherStatus),
        networkErrors: count((t) => t.networkErrors),
        serverCores: use.serverCores,
        clientCores: use.clientCores,
        clientMaxCores,
        otherCores: use.otherCores,
      };
      say(
        `upgrade rate: ${label}: ${Math.round(figures.upgradesPerSecond)} upgrades/s, server ${figures.serverCores.toFixed(2)} cores, clients ${figures.clientCores.toFixed(2)}`,
      );
      const merged = (f: (t: (typeof tallies)[number]) => Record<string, number>) =>
        tallies.reduce<Record<string, number>>((m, t) => (Object.entries(f(t)).forEach(([k, v]) => (m[k] = (m[k] ?? 0) + v)), m), {});
      const busiest = use.otherProcesses[0];
      const main = use.serverProcesses.find((p) => p.pid === server.pids()[0]);
      const remarks = upgradeRemarks(
        figures,
        merged((t) => t.otherStatus),
        merged((t) => t.networkErrors),
      );
      if (figures.otherCores > OTHER_LOAD_WARNING && busiest)
        remarks.push(`the busiest other process took ${busiest.cores.toFixed(2)} cores: \`${busiest.command}\``);
      if (main)
        remarks.push(`its process's main thread ran ${main.cores.toFixed(2)} cores and waited for a CPU ${Math.round(100 * main.waitingForCpu)} % of the time`);
      return { label, figures, remarks: [...remarks, `database ${db}`] };
    } finally {
      await fleet.close();
    }
  };

  const floorPort = await freePort();
  const floor = await withFloor(ctx, url, floorPort, (f) =>
    measure(
      floorLabel(ctx),
      f,
      `ws://127.0.0.1:${floorPort}/ws`,
      members.map(({ u, conversationId }) => `uid=${u.id}&conv=${conversationId}`),
    ),
  );
  const port = await freePort();
  const server = await withServer(ctx, { DATABASE_URL: url, PORT: String(port), TRANSPORT: 'uws', WORKERS: '1', RATE_LIMITS: 'off' }, (s) =>
    measure(
      'server, TRANSPORT=uws, /ws',
      s,
      `ws://127.0.0.1:${port}/ws`,
      members.map(({ u }) => `token=${u.token}`),
    ),
  );
  ctx.comparisons.push({
    scenario: 'storm 1: upgrade rate',
    description:
      `${n.toLocaleString('en-US')} WebSocket upgrades into one process, each a different user (nobody in the profile cache) following one conversation, ` +
      `about ${ctx.options.stormInFlight} handshakes in flight from ${processes} client processes over ${addresses.length} local addresses; ` +
      'the connections are held. Rate: upgrades answered 101 over the time from the first request to the last 101. ' +
      'Server (WORKERS=1, RATE_LIMITS=off): JWT check, profile and session query, registry; floor: no auth.',
    metrics: UPGRADE_METRICS,
    floor,
    subjects: [server],
  });
}

function upgradeRemarks(f: Record<string, number>, other: Record<string, number>, network: Record<string, number>): string[] {
  const out: string[] = [];
  if (f.otherAnswers! > 0) out.push(`answers other than 101/503: ${JSON.stringify(other)}`);
  if (f.networkErrors! > 0) out.push(`upgrades without an answer: ${JSON.stringify(network)}`);
  const idle = os.cpus().length - f.serverCores! - f.clientCores! - f.otherCores!;
  if (f.clientMaxCores! > 0.9) out.push(`a client process used ${f.clientMaxCores!.toFixed(2)} cores: the client side may be the limit`);
  else if (f.serverCores! < 0.9 && idle < 0.3) {
    out.push(
      `the machine was saturated (${idle.toFixed(2)} cores idle) while the server used ${f.serverCores!.toFixed(2)}: the clients (${f.clientCores!.toFixed(2)} cores) or other work may be the limit`,
    );
  }
  if (f.otherCores! > OTHER_LOAD_WARNING) out.push(`other work on the machine took ${f.otherCores!.toFixed(2)} cores during the run: the ratio is suspect`);
  return out;
}

/** Parts 2 and 3, on one fleet of clients that stays connected (or reconnecting) throughout. */
async function storms(ctx: BenchContext, url: string, seeded: Pairs, processes: number): Promise<void> {
  const o = ctx.options;
  const clients = seeded.length * 2;
  const share = o.stormChatters;
  const pairs: StormPair[] = seeded.map((p, i) => ({
    conversationId: p.conversationId,
    a: p.a,
    b: p.b,
    chatty: Math.floor((i + 1) * share) > Math.floor(i * share),
  }));
  const chatters = pairs.filter((p) => p.chatty).length * 2;
  const port = await freePort();
  const env = { DATABASE_URL: url, PORT: String(port), TRANSPORT: 'uws', WORKERS: '2', RATE_LIMITS: 'off', ...o.serverEnv };
  const target = `ws://127.0.0.1:${port}/ws`;
  let server = await startServer(env);
  const fleet = new StormFleet(processes, ctx.options.stormClientNice);
  try {
    if (!server.output().includes('"transport":"uws"')) throw new Error(`The server did not start on uws:\n${server.output().slice(-2000)}`);
    const t0 = performance.now();
    const connected = (await fleet.connect(target, deal(pairs, processes), addressesFor(clients), 96)).reduce((s, c) => s + c.connected, 0);
    say(
      `${connected} of ${clients} clients connected in ${((performance.now() - t0) / 1000).toFixed(1)} s; ${chatters} of them chatting at ${o.stormRate} msg/s each`,
    );
    await fleet.all({ type: 'chat', ratePerChatter: o.stormRate });
    await sleep(3_000);
    const groups = { server: () => [server.child.pid!], postgres: ctx.postgresPid, clients: fleet.pids };
    const common = { fleet, groups, url };
    // Half as long again as the target: enough to see how far off a miss is, within the scenario's time budget.
    const timeoutMs = (targetSeconds: number) => (o.stormTimeout > 0 ? o.stormTimeout : 1.5 * targetSeconds) * 1000;

    const kill: StormPhase = await runStorm({
      ...common,
      label: 'worker SIGKILL',
      targetSeconds: 15,
      timeoutMs: timeoutMs(15),
      disrupt: async (milestone) => {
        const workers = childrenOf(server.child.pid!, 'main.ts');
        if (workers.length !== 2) throw new Error(`expected 2 workers under the supervisor, found ${workers.length}`);
        const listening = () => (server.output().match(/"listening on/g) ?? []).length;
        const before = listening();
        process.kill(workers[0]!, 'SIGKILL');
        void (async () => {
          for (const deadline = Date.now() + 60_000; Date.now() < deadline && listening() <= before;) await sleep(50);
          if (listening() > before) milestone('replacementListeningSeconds');
        })();
      },
    });
    await sleep(2_000);
    const restart: StormPhase = await runStorm({
      ...common,
      label: 'full restart (SIGTERM, start)',
      targetSeconds: 30,
      timeoutMs: timeoutMs(30),
      disrupt: async (milestone) => {
        await server.stop();
        milestone('oldServerExitedSeconds');
        server = await startServer(env);
        milestone('newServerListeningSeconds');
        // Its first log line: Node and the TypeScript loader are up, the workers are being forked.
        const first = /"time":(\d+)/.exec(server.output());
        if (first) milestone('newSupervisorUpSeconds', Number(first[1]));
      },
    });
    await fleet.all({ type: 'stopChat' });
    await finish(ctx, fleet, [kill, restart], { clients, chatters });
  } finally {
    await fleet.close();
    await server.stop();
  }
}

/** Lets every send settle, then counts what never arrived and what arrived twice, per storm. */
async function finish(ctx: BenchContext, fleet: StormFleet, phases: StormPhase[], size: { clients: number; chatters: number }): Promise<void> {
  // Until nothing is in flight, or nothing moves any more (a client not back keeps its messages undelivered).
  let last = '';
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; await sleep(500)) {
    const p = await fleet.progress(0, 0);
    const state = JSON.stringify(p.map((x) => [x.pendingSends, x.undelivered]));
    if (p.every((x) => x.pendingSends === 0 && x.undelivered === 0) || state === last) break;
    last = state;
  }
  const finals = await fleet.final();
  const stats = sumStats(await fleet.stats());
  const lost = finals.flatMap((f) => f.lostAckedAt);
  const acked = finals.reduce((s, f) => s + f.acked, 0);
  const unreached = finals.reduce((s, f) => s + f.unreached, 0);
  for (const [i, phase] of phases.entries()) {
    const next = phases[i + 1];
    // Each message is charged to the storm during or before which it was acknowledged.
    const from = i === 0 ? 0 : phase.mark;
    const lostHere = lost.filter((t) => t >= from && (!next || t < next.mark)).length;
    ctx.absolute.push({
      scenario: `storm ${i + 2}: ${phase.label}`,
      variant: `WORKERS=2, ${size.clients.toLocaleString('en-US')} clients, ${size.chatters.toLocaleString('en-US')} chatting`,
      figures: { ...phase.figures, lost: lostHere, verdict: verdict(phase, lostHere) },
    });
    ctx.notes.push(...phase.notes.map((n) => `storm ${i + 2} (${phase.label}): ${n}`));
  }
  ctx.notes.push(
    `storm: over the whole run ${acked.toLocaleString('en-US')} messages were acknowledged; ${lost.length} never reached the other participant although it was connected and caught up (lost)` +
      `${unreached ? `, ${unreached} were waiting for a participant not yet back at the end (not delivered, not counted as lost)` : ''}; ` +
      `${stats.rawDuplicates} repeated ids were dropped by dedupe and ${stats.appDuplicates} messages reached the app layer twice under two ids; ` +
      `${stats.sent} sends, ${stats.resent} resends, ${stats.failedSends} given up, ${stats.skippedOffline} turns skipped while offline` +
      `${Object.keys(stats.sendErrors).length ? `; send errors ${JSON.stringify(stats.sendErrors)}` : ''}.`,
  );
}

function verdict(phase: StormPhase, lost: number): string {
  const seconds = phase.figures.recoveredSeconds!;
  const inTime = Number.isFinite(seconds) && seconds <= phase.targetSeconds;
  const clean = lost === 0 && phase.figures.appDuplicates === 0;
  return `${inTime && clean ? 'PASS' : 'MISS'} (recovered ≤ ${phase.targetSeconds} s, 0 lost, 0 duplicates)`;
}
