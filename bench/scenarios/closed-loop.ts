import pg from 'pg';
import type { ClientSpec } from '../load-worker.js';
import { drive, type DriveResult } from '../lib/drive.js';
import { freePort } from '../lib/ports.js';
import { seed } from '../lib/seed.js';
import { medianFigures, OTHER_LOAD_WARNING, type Measured, type Metric } from '../lib/yardstick.js';
import { floorLabel, freshCheckpointedDatabase, withFloor, withServer, type BenchContext } from './context.js';

export const CLOSED_LOOP_METRICS: Metric[] = [
  { key: 'ackedPerSecond', label: 'acked/s', digits: 0, better: 'higher', target: 0.8 },
  { key: 'ackP50', label: 'ack p50 ms', digits: 1, better: 'lower' },
  { key: 'ackP99', label: 'ack p99 ms', digits: 1, better: 'lower', target: 1.5 },
  { key: 'serverUsPerAck', label: 'server µs/msg', digits: 1, better: 'lower', target: 1.5 },
  { key: 'postgresUsPerAck', label: 'PG µs/msg', digits: 1, better: 'lower', target: 2 },
  { key: 'rowsPerCommit', label: 'rows/commit', digits: 0, better: 'higher', absoluteOnly: true },
  { key: 'serverCores', label: 'server cores', digits: 2, better: 'lower', absoluteOnly: true },
  { key: 'errors', label: 'errors', digits: 0, better: 'lower', absoluteOnly: true },
  { key: 'loadGenMaxCores', label: 'load gen max cores', digits: 2, better: 'lower', absoluteOnly: true },
  { key: 'otherCores', label: 'other load, cores', digits: 2, better: 'lower', absoluteOnly: true },
];

type Run = DriveResult & { rowsPerCommit: number };

interface Variant {
  readonly label: string;
  readonly run: (ctx: BenchContext, round: number) => Promise<Run>;
}

/**
 * Rows per committing transaction in `table` (each row's xmin is the
 * transaction that inserted it): how well group commit batched. It explains
 * much of the difference in PostgreSQL CPU per message.
 */
async function rowsPerCommit(url: string, table: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ rows: string; commits: string }>(`SELECT count(*) AS rows, count(DISTINCT xmin::text) AS commits FROM ${table}`);
    return Number(rows[0]!.rows) / Math.max(1, Number(rows[0]!.commits));
  } finally {
    await client.end();
  }
}

/** `drive` for scenario 1: every client sends its next message as soon as the last is acknowledged. */
const closed = (ctx: BenchContext, url: string, transport: 'ws' | 'socketio', clients: ClientSpec[], serverPids: () => number[]) =>
  drive({
    url,
    transport,
    mode: 'closed-loop',
    clients,
    processes: ctx.options.loadProcesses,
    seconds: ctx.options.seconds,
    serverPids,
    postgresPid: ctx.postgresPid,
  });

const realServer = (label: string, transport: 'uws' | 'node', client: 'ws' | 'socketio'): Variant => ({
  label,
  run: async (ctx, round) => {
    const url = await freshCheckpointedDatabase(ctx, `closed_${transport}_${client}_${round}`);
    const data = await seed(url, { users: ctx.options.pairs * 2, pairs: ctx.options.pairs });
    const port = await freePort();
    return withServer(ctx, { DATABASE_URL: url, PORT: String(port), TRANSPORT: transport }, async (server) => {
      const clients = data.pairs.flatMap((p) => [p.a, p.b].map((u) => ({ token: u.token, userId: u.id, conversationId: p.conversationId, sender: true })));
      const target = client === 'ws' ? `ws://127.0.0.1:${port}/ws` : `http://127.0.0.1:${port}`;
      const result = await closed(ctx, target, client, clients, server.pids);
      return { ...result, rowsPerCommit: await rowsPerCommit(url, 'messages') };
    });
  },
});

const floor: Variant = {
  label: 'floor',
  run: async (ctx, round) => {
    const url = await freshCheckpointedDatabase(ctx, `closed_floor_${round}`);
    const port = await freePort();
    return withFloor(ctx, url, port, async (server) => {
      const clients = Array.from({ length: ctx.options.pairs * 2 }, (_, i) => {
        const userId = i + 1;
        const conversationId = Math.floor(i / 2) + 1;
        return { token: '', userId, conversationId, sender: true, query: `uid=${userId}&conv=${conversationId}` };
      });
      const result = await closed(ctx, `ws://127.0.0.1:${port}/ws`, 'ws', clients, server.pids);
      return { ...result, rowsPerCommit: await rowsPerCommit(url, 'floor_messages') };
    });
  },
};

const figures = (r: Run): Record<string, number> => ({
  rowsPerCommit: r.rowsPerCommit,
  ackedPerSecond: r.ackedPerSecond,
  deliveriesPerSecond: r.deliveriesPerSecond,
  ackP50: r.ack.p50,
  ackP99: r.ack.p99,
  ackP999: r.ack.p999,
  serverUsPerAck: r.serverUsPerAck,
  postgresUsPerAck: r.postgresUsPerAck,
  serverCores: r.serverCores,
  postgresCores: r.postgresCpuSeconds / r.seconds,
  serverPeakRssMB: r.serverPeakRssMB,
  errors: r.errors,
  failedConnections: r.failedConnections,
  loadGenMaxCores: r.loadGenMaxCores,
  otherCores: r.otherCores,
});

function remarks(runs: DriveResult[]): string[] {
  const out: string[] = [];
  const errors = runs.reduce((s, r) => s + r.errors, 0);
  if (errors > 0) out.push(`${errors} errors (${JSON.stringify(Object.assign({}, ...runs.map((r) => r.errorCodes)))})`);
  const failed = runs.reduce((s, r) => s + r.failedConnections, 0);
  if (failed > 0) out.push(`${failed} clients failed to connect`);
  if (runs.some((r) => r.loadGenBottleneck)) out.push('a load-generator process was above 0.9 core: the load generator may be the limit');
  const other = Math.max(...runs.map((r) => r.otherCores));
  if (other > OTHER_LOAD_WARNING)
    out.push(`other work on the machine took up to ${other.toFixed(2)} cores during its run${runs.length > 1 ? 's' : ''}: its ratios are suspect`);
  return out;
}

/**
 * Scenario 1: 2 × pairs clients in one-to-one conversations, closed loop, on
 * the floor and on the real server's three ways in, in one run. With several
 * rounds the variants are interleaved (floor first in each) and each figure is
 * the median over rounds.
 */
export async function closedLoop(ctx: BenchContext): Promise<void> {
  const variants: Variant[] = [
    floor,
    realServer('server, TRANSPORT=uws, /ws', 'uws', 'ws'),
    realServer('server, TRANSPORT=node, /ws', 'node', 'ws'),
    realServer('server, TRANSPORT=node, Socket.IO', 'node', 'socketio'),
  ];
  const runs = variants.map(() => [] as Run[]);
  for (let round = 0; round < ctx.options.rounds; round++) {
    for (const [i, v] of variants.entries()) {
      const result = await v.run(ctx, round);
      runs[i]!.push(result);
      console.log(
        `  closed loop, round ${round + 1}: ${v.label}: ${Math.round(result.ackedPerSecond)} acked/s, p99 ${result.ack.p99.toFixed(1)} ms, server ${result.serverUsPerAck.toFixed(1)} µs/msg, PG ${result.postgresUsPerAck.toFixed(1)} µs/msg`,
      );
    }
  }
  const measured: Measured[] = variants.map((v, i) => ({
    label: i === 0 ? floorLabel(ctx) : v.label,
    figures: medianFigures(runs[i]!.map(figures)),
    remarks: remarks(runs[i]!),
  }));
  ctx.comparisons.push({
    scenario: '1 closed loop, 1:1',
    description:
      `${ctx.options.pairs * 2} clients in ${ctx.options.pairs} one-to-one conversations, each sending its next message when the last is acknowledged, ` +
      `${ctx.options.seconds} s per variant${ctx.options.rounds > 1 ? `, median of ${ctx.options.rounds} interleaved rounds` : ''}. ` +
      'CPU per acknowledged message from /proc: the server process tree, and every process of the PostgreSQL cluster.',
    metrics: CLOSED_LOOP_METRICS,
    floor: measured[0]!,
    subjects: measured.slice(1),
  });
}
