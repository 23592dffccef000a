/**
 * The brokers scenario: the same server processes and clients over each
 * fan-out broker (FANOUT=postgres, nats, redis), every figure as a ratio to
 * PostgreSQL's measured in the same run.
 */
import pg from 'pg';
import type { ClientSpec } from '../load-worker.js';
import { startBroker, type BrokerServer } from '../lib/broker-servers.js';
import { drive, type DriveResult } from '../lib/drive.js';
import { freePort } from '../lib/ports.js';
import { ownCpuSeconds } from '../lib/process-stats.js';
import { seed, type SeededUser } from '../lib/seed.js';
import { startServer, type BenchServer } from '../lib/server-process.js';
import { readChars, SocketBytesMeter } from '../lib/socket-bytes.js';
import { medianFigures, OTHER_LOAD_WARNING, type Measured, type Metric } from '../lib/yardstick.js';
import { freshCheckpointedDatabase, sleep, type BenchContext } from './context.js';

export const BROKER_NAMES = ['postgres', 'nats', 'redis'] as const;
export type BrokerName = (typeof BROKER_NAMES)[number];

const CPU_METRICS: Metric[] = [
  { key: 'serverUsPerMsg', label: 'server µs/msg', digits: 1, better: 'lower' },
  { key: 'postgresUsPerMsg', label: 'PG µs/msg', digits: 1, better: 'lower' },
  { key: 'brokerUsPerMsg', label: 'broker µs/msg', digits: 1, better: 'lower', absoluteOnly: true },
  { key: 'allUsPerMsg', label: 'all µs/msg', digits: 1, better: 'lower' },
];
const TRAILING_METRICS: Metric[] = [
  { key: 'brokerOutBytesPerMsg', label: 'broker out B/msg', digits: 0, better: 'lower', absoluteOnly: true },
  { key: 'errors', label: 'errors', digits: 0, better: 'lower', absoluteOnly: true },
  { key: 'loadGenMaxCores', label: 'load gen max cores', digits: 2, better: 'lower', absoluteOnly: true },
  { key: 'otherCores', label: 'other load, cores', digits: 2, better: 'lower', absoluteOnly: true },
];

export const CROSS_METRICS: Metric[] = [
  { key: 'ackedPerSecond', label: 'acked/s', digits: 0, better: 'higher' },
  { key: 'e2eP50', label: 'e2e p50 ms', digits: 1, better: 'lower' },
  { key: 'e2eP99', label: 'e2e p99 ms', digits: 1, better: 'lower' },
  ...CPU_METRICS,
  { key: 'fanoutBytesPerMsg', label: 'fan-out in B/msg/process', digits: 0, better: 'lower' },
  { key: 'readBytesPerMsg', label: 'read() B/msg/process', digits: 0, better: 'lower' },
  ...TRAILING_METRICS,
];

export const SPREAD_METRICS: Metric[] = [
  { key: 'receivedPerSecond', label: 'delivered/s', digits: 0, better: 'higher' },
  { key: 'e2eP50', label: 'e2e p50 ms', digits: 1, better: 'lower' },
  { key: 'e2eP99', label: 'e2e p99 ms', digits: 1, better: 'lower' },
  ...CPU_METRICS,
  { key: 'fanoutKBps', label: 'fan-out in KB/s/process', digits: 1, better: 'lower' },
  { key: 'fanoutBytesPerMsg', label: 'fan-out in B/msg/process', digits: 0, better: 'lower' },
  { key: 'readKBps', label: 'read() KB/s/process', digits: 1, better: 'lower' },
  ...TRAILING_METRICS,
];

/** One broker's setup: its server (none for PostgreSQL), the database, the server processes. */
interface Setup {
  readonly broker: BrokerName;
  readonly brokerServer: BrokerServer | null;
  readonly url: string;
  readonly servers: readonly BenchServer[];
  readonly ports: readonly number[];
}

interface Part {
  readonly drive: DriveResult;
  /** Per server process, over the window. */
  readonly fanoutBytes: number[];
  readonly readBytes: number[];
  readonly brokerCpuSeconds: number;
  readonly brokerOutBytes: number;
  readonly closedSockets: number;
  /** Per process, from /readyz: conversations followed at the window's start (NATS, Redis), gaps read from the database and outages during it. */
  readonly following: (number | null)[];
  readonly gapsFilled: number[];
  readonly outages: number[];
  /** Seconds from the clients being connected until every process followed what its clients follow (NATS, Redis). */
  readonly subscribedSeconds: number;
  /** Set when that did not happen within 30 s. */
  readonly unsubscribed: string | null;
}

interface FanoutReadiness {
  readonly fanout?: { readonly outages: number; readonly gapsFilled: number; readonly following?: { readonly conversations: number } };
}

/** Each process's fan-out state, as `GET /readyz` reports it. */
const readiness = (ports: readonly number[]) =>
  Promise.all(
    ports.map(async (port) => {
      const body = (await (await fetch(`http://127.0.0.1:${port}/readyz`)).json()) as FanoutReadiness;
      if (!body.fanout) throw new Error(`/readyz on port ${port} has no fan-out state`);
      return body.fanout;
    }),
  );

/**
 * The ports of the database connections that LISTEN (application_name
 * `chat-backend-listen`): the PostgreSQL broker, and with NATS or Redis the
 * one that carries the database's own announcements.
 */
async function listenPorts(url: string): Promise<Set<number>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ port: number | null }>(
      "SELECT client_port AS port FROM pg_stat_activity WHERE application_name = 'chat-backend-listen' AND datname = current_database()",
    );
    return new Set(rows.map((r) => r.port).filter((p): p is number => p !== null && p > 0));
  } finally {
    await client.end();
  }
}

/** Per server port, how many distinct conversations its clients are in. */
function conversationsPerPort(clients: readonly ClientSpec[], ports: readonly number[]): number[] {
  return ports.map((port) => new Set(clients.filter((c) => c.url === `ws://127.0.0.1:${port}/ws`).map((c) => c.conversationId)).size);
}

/**
 * With NATS or Redis, waits until each process follows exactly its clients'
 * conversations (subscriptions are made after the connections open, and the
 * previous part's are dropped after its clients leave). Resolves with the wait
 * and what was still off when it gave up.
 */
async function followingSettled(ports: readonly number[], expected: readonly number[]): Promise<{ seconds: number; off: string | null }> {
  const started = performance.now();
  for (;;) {
    const states = await readiness(ports);
    if (states.every((f) => f.following === undefined)) return { seconds: 0, off: null };
    const counts = states.map((f) => f.following?.conversations ?? 0);
    const seconds = (performance.now() - started) / 1000;
    if (counts.every((c, i) => c === expected[i])) return { seconds, off: null };
    if (seconds > 30) return { seconds, off: `processes followed ${counts.join(', ')} conversations, expected ${expected.join(', ')}` };
    await sleep(50);
  }
}

/** Runs `drive` with every reading this scenario adds: fan-out bytes and read bytes per process, the broker's CPU and its own byte count. */
async function measure(ctx: BenchContext, setup: Setup, spec: Pick<Parameters<typeof drive>[0], 'mode' | 'clients' | 'ratePerSender'>): Promise<Part> {
  const pids = setup.servers.map((s) => s.child.pid!);
  const databasePort = Number(new URL(setup.url).port || 5432);
  const listening = await listenPorts(setup.url);
  // One LISTEN connection per process whatever the broker; without them the fan-out bytes would silently miss PostgreSQL's.
  if (listening.size < pids.length)
    throw new Error(`${listening.size} LISTEN connections over TCP for ${pids.length} server processes: cannot count their bytes`);
  const fanout = new SocketBytesMeter(
    pids,
    (s) => (s.peerPort === databasePort && listening.has(s.localPort)) || (setup.brokerServer !== null && s.peerPort === setup.brokerServer.port),
  );
  let readStart: number[] = [];
  let readBytes: number[] = [];
  let fanoutBytes: number[] = [];
  let cpuStart = 0;
  let brokerCpuSeconds = 0;
  let outStart = 0;
  let brokerOutBytes = NaN;
  let before: Awaited<ReturnType<typeof readiness>> = [];
  let after: Awaited<ReturnType<typeof readiness>> = [];
  let settled: Awaited<ReturnType<typeof followingSettled>> = { seconds: NaN, off: null };
  const brokerPid = setup.brokerServer?.pid ?? null;
  const result = await drive({
    url: `ws://127.0.0.1:${setup.ports[0]}/ws`,
    transport: 'ws',
    processes: ctx.options.loadProcesses,
    seconds: ctx.options.seconds,
    serverPids: () => setup.servers.flatMap((s) => s.pids()),
    postgresPid: ctx.postgresPid,
    ...spec,
    window: {
      begin: async () => {
        settled = await followingSettled(setup.ports, conversationsPerPort(spec.clients, setup.ports));
        before = await readiness(setup.ports);
        fanout.begin();
        readStart = pids.map(readChars);
        cpuStart = brokerPid === null ? 0 : ownCpuSeconds(brokerPid);
        outStart = setup.brokerServer ? await setup.brokerServer.sentBytes() : NaN;
      },
      end: async () => {
        fanoutBytes = fanout.end();
        readBytes = pids.map((p, i) => readChars(p) - readStart[i]!);
        brokerCpuSeconds = brokerPid === null ? NaN : ownCpuSeconds(brokerPid) - cpuStart;
        brokerOutBytes = setup.brokerServer ? (await setup.brokerServer.sentBytes()) - outStart : NaN;
        after = await readiness(setup.ports);
      },
    },
  });
  return {
    drive: result,
    fanoutBytes,
    readBytes,
    brokerCpuSeconds,
    brokerOutBytes,
    closedSockets: fanout.closed,
    following: before.map((f) => f.following?.conversations ?? null),
    gapsFilled: after.map((f, i) => f.gapsFilled - before[i]!.gapsFilled),
    outages: after.map((f, i) => f.outages - before[i]!.outages),
    subscribedSeconds: settled.seconds,
    unsubscribed: settled.off,
  };
}

/** drive's other load, less the broker process (which drive does not know of). */
const otherCores = (p: Part) => p.drive.otherCores - (Number.isNaN(p.brokerCpuSeconds) ? 0 : p.brokerCpuSeconds / p.drive.seconds);

const mean = (xs: readonly number[]) => xs.reduce((s, x) => s + x, 0) / Math.max(1, xs.length);

function figures(p: Part): Record<string, number> {
  const r = p.drive;
  const delivered = Math.max(1, r.received);
  // With PostgreSQL the broker is the database: its CPU is in PG's, and there is no broker process.
  const orZero = (x: number) => (Number.isNaN(x) ? 0 : x);
  return {
    ackedPerSecond: r.ackedPerSecond,
    receivedPerSecond: r.received / r.seconds,
    e2eP50: r.e2e.p50,
    e2eP99: r.e2e.p99,
    ackP99: r.ack.p99,
    serverUsPerMsg: (r.serverCpuSeconds * 1e6) / delivered,
    postgresUsPerMsg: (r.postgresCpuSeconds * 1e6) / delivered,
    brokerUsPerMsg: (p.brokerCpuSeconds * 1e6) / delivered,
    allUsPerMsg: ((r.serverCpuSeconds + orZero(r.postgresCpuSeconds) + orZero(p.brokerCpuSeconds)) * 1e6) / delivered,
    fanoutBytesPerMsg: mean(p.fanoutBytes) / delivered,
    fanoutKBps: mean(p.fanoutBytes) / 1024 / r.seconds,
    readBytesPerMsg: mean(p.readBytes) / delivered,
    readKBps: mean(p.readBytes) / 1024 / r.seconds,
    brokerOutBytesPerMsg: p.brokerOutBytes / delivered,
    serverCores: r.serverCores,
    errors: r.errors,
    failedConnections: r.failedConnections,
    loadGenMaxCores: r.loadGenMaxCores,
    otherCores: otherCores(p),
  };
}

function remarks(parts: readonly Part[]): string[] {
  const out: string[] = [];
  for (const p of parts) {
    const r = p.drive;
    out.push(
      `fan-out in per process: ${p.fanoutBytes.map((b) => `${(b / 1024 / r.seconds).toFixed(1)}`).join(', ')} KB/s; read() per process: ${p.readBytes
        .map((b) => `${(b / 1024 / r.seconds).toFixed(1)}`)
        .join(', ')} KB/s${p.following.every((f) => f !== null) ? `; conversations followed per process: ${p.following.join(', ')}` : ''}`,
    );
    if (p.unsubscribed) out.push(`subscriptions not settled after 30 s: ${p.unsubscribed}`);
    else if (p.subscribedSeconds >= 0.05) out.push(`subscriptions settled ${p.subscribedSeconds.toFixed(1)} s after the clients connected`);
    const gaps = p.gapsFilled.reduce((a, b) => a + b, 0);
    if (gaps > 0) out.push(`${gaps} batches read from the database because their publish was late or lost (per process: ${p.gapsFilled.join(', ')})`);
    const outages = p.outages.reduce((a, b) => a + b, 0);
    if (outages > 0) out.push(`${outages} broker outages during the window`);
    if (r.errors > 0) out.push(`${r.errors} errors (${JSON.stringify(r.errorCodes)})`);
    if (r.failedConnections > 0) out.push(`${r.failedConnections} clients failed to connect`);
    if (p.closedSockets > 0) out.push(`${p.closedSockets} fan-out connection(s) closed during the window: their bytes after its start are missing`);
    if (r.loadGenBottleneck) out.push('a load-generator process was above 0.9 core: the load generator may be the limit');
    if (otherCores(p) > OTHER_LOAD_WARNING) out.push(`other work on the machine took ${otherCores(p).toFixed(2)} cores during its run: its ratios are suspect`);
  }
  return out;
}

async function startServers(ctx: BenchContext, broker: BrokerName, url: string, brokerServer: BrokerServer | null, count: number) {
  const ports: number[] = [];
  while (ports.length < count) {
    const p = await freePort();
    if (!ports.includes(p)) ports.push(p);
  }
  const env: Record<string, string> = {
    DATABASE_URL: url,
    TRANSPORT: 'uws',
    FANOUT: broker,
    ...(broker === 'nats' ? { NATS_URL: brokerServer!.url } : {}),
    ...(broker === 'redis' ? { REDIS_URL: brokerServer!.url } : {}),
  };
  const started = await Promise.allSettled(ports.map((port) => startServer({ ...env, PORT: String(port), ...ctx.options.serverEnv })));
  const servers = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = started.find((s) => s.status === 'rejected');
  const wrong = servers.find((s) => !s.output().includes(`"fanout":"${broker}"`) || !s.output().includes('"transport":"uws"'));
  if (failed || wrong) {
    await Promise.all(servers.map((s) => s.stop()));
    if (failed) throw (failed as PromiseRejectedResult).reason;
    throw new Error(`A server did not start with FANOUT=${broker} on uws: its figures would not describe it. Output:\n${wrong!.output().slice(-2000)}`);
  }
  return { servers, ports };
}

type Pair = { conversationId: number; a: SeededUser; b: SeededUser };

/** Part 1: each sender on one process, its partner on the next, closed loop. */
const crossClients = (pairs: readonly Pair[], ports: readonly number[]): ClientSpec[] =>
  pairs.flatMap((p, i) => [
    { token: p.a.token, userId: p.a.id, conversationId: p.conversationId, sender: true, url: `ws://127.0.0.1:${ports[i % ports.length]}/ws` },
    { token: p.b.token, userId: p.b.id, conversationId: p.conversationId, sender: false, url: `ws://127.0.0.1:${ports[(i + 1) % ports.length]}/ws` },
  ]);

/** Part 2: both members of a conversation on the same process, conversations dealt round the processes. */
const spreadClients = (pairs: readonly Pair[], ports: readonly number[]): ClientSpec[] =>
  pairs.flatMap((p, i) => {
    const url = `ws://127.0.0.1:${ports[i % ports.length]}/ws`;
    return [
      { token: p.a.token, userId: p.a.id, conversationId: p.conversationId, sender: true, url },
      { token: p.b.token, userId: p.b.id, conversationId: p.conversationId, sender: false, url },
    ];
  });

async function runBroker(ctx: BenchContext, broker: BrokerName, round: number): Promise<[Part, Part]> {
  const { pairs, brokerProcesses: count, brokersRate: rate } = ctx.options;
  const brokerServer = broker === 'postgres' ? null : await startBroker(broker);
  try {
    const url = await freshCheckpointedDatabase(ctx, `brokers_${broker}_${round}`);
    const data = await seed(url, { users: pairs * 4, pairs: pairs * 2 });
    const { servers, ports } = await startServers(ctx, broker, url, brokerServer, count);
    try {
      const cross = await measure(
        ctx,
        { broker, brokerServer, url, servers, ports },
        { mode: 'closed-loop', clients: crossClients(data.pairs.slice(0, pairs), ports) },
      );
      // The first part's clients are gone: let each process drop their subscriptions before the second.
      await sleep(1000);
      const spread = await measure(
        ctx,
        { broker, brokerServer, url, servers, ports },
        { mode: 'rate', ratePerSender: rate / pairs, clients: spreadClients(data.pairs.slice(pairs), ports) },
      );
      return [cross, spread];
    } finally {
      await Promise.all(servers.map((s) => s.stop()));
    }
  } finally {
    await brokerServer?.stop();
  }
}

/**
 * `--scenarios brokers`: for each broker, `--broker-processes` server
 * processes on one fresh database; part 1 closed loop across processes,
 * part 2 conversations spread so each process follows only its own.
 */
export async function brokers(ctx: BenchContext): Promise<void> {
  const names = ctx.options.brokers;
  const runs = names.map(() => ({ cross: [] as Part[], spread: [] as Part[] }));
  for (let round = 0; round < ctx.options.rounds; round++) {
    for (const [i, broker] of names.entries()) {
      const [cross, spread] = await runBroker(ctx, broker, round);
      runs[i]!.cross.push(cross);
      runs[i]!.spread.push(spread);
      const f1 = figures(cross);
      const f2 = figures(spread);
      console.log(
        `  brokers, round ${round + 1}: FANOUT=${broker}: cross ${Math.round(f1.ackedPerSecond!)} acked/s, e2e p99 ${f1.e2eP99!.toFixed(1)} ms, ` +
          `${f1.allUsPerMsg!.toFixed(1)} µs/msg in all; spread ${Math.round(f2.receivedPerSecond!)} delivered/s, fan-out in ${f2.fanoutKBps!.toFixed(1)} KB/s/process`,
      );
    }
  }
  const label = (b: BrokerName) => `FANOUT=${b}`;
  const measured = (part: 'cross' | 'spread'): Measured[] =>
    names.map((b, i) => {
      const parts = runs[i]![part];
      return {
        label: label(b),
        figures: medianFigures(parts.map(figures)),
        remarks: remarks(parts),
        detail: {
          fanoutBytesPerProcess: parts.map((p) => p.fanoutBytes),
          readBytesPerProcess: parts.map((p) => p.readBytes),
          followingPerProcess: parts.map((p) => p.following),
          gapsFilledPerProcess: parts.map((p) => p.gapsFilled),
          subscribedSeconds: parts.map((p) => p.subscribedSeconds),
        },
      };
    });
  const { pairs, brokerProcesses: count, seconds, brokersRate: rate } = ctx.options;
  const rounds = ctx.options.rounds > 1 ? `, median of ${ctx.options.rounds} interleaved rounds` : '';
  const cpu =
    'server µs/msg: CPU of every server process (/proc) per message delivered to its receiver; PG µs/msg: every process of the PostgreSQL cluster; ' +
    'broker µs/msg: the nats-server or redis-server process (none with PostgreSQL: it is the database); all: the three together. ' +
    "fan-out in: bytes the kernel received (tcp_info bytes_received) on each server process's fan-out sockets (its LISTEN connection, " +
    'and its connections to the NATS or Redis server), averaged over the processes; read(): /proc/<pid>/io rchar, the bytes the process took in ' +
    "through read()/readv()/pread() on any descriptor: Node's own sockets (database replies, the fan-out connections) and files, not the clients' frames " +
    '(uWebSockets.js reads its sockets with recv(), which rchar does not count); ' +
    "broker out: the broker's own count of bytes sent to all its clients (NATS /connz out_bytes, Redis total_net_output_bytes).";
  const cross = measured('cross');
  const spread = measured('spread');
  ctx.comparisons.push(
    {
      scenario: `brokers 1: closed loop across ${count} processes`,
      description:
        `${pairs} one-to-one conversations on ${count} server processes (RATE_LIMITS=off), each sender on one process and its partner on the next, ` +
        `each sender sending its next message when the last is acknowledged, ${seconds} s per broker${rounds}. e2e: the send time in the payload to ` +
        `the partner's receiveMessage (same machine clock). ${cpu}`,
      metrics: CROSS_METRICS,
      floor: cross[0]!,
      subjects: cross.slice(1),
      yardstick: label(names[0]!),
    },
    {
      scenario: `brokers 2: conversations spread over ${count} processes`,
      description:
        `${pairs} one-to-one conversations with both members on the same process, dealt round ${count} processes, so each process follows only its ` +
        `own share; one member of each sends, ${rate} messages/s offered in all, ${seconds} s per broker${rounds}. ${cpu}`,
      metrics: SPREAD_METRICS,
      floor: spread[0]!,
      subjects: spread.slice(1),
      yardstick: label(names[0]!),
    },
  );
}
