import type { ClientSpec } from '../load-worker.js';
import { ClientFleet } from '../lib/drive.js';
import { freePort } from '../lib/ports.js';
import { settledRss } from '../lib/process-stats.js';
import { seed } from '../lib/seed.js';
import type { BenchServer } from '../lib/server-process.js';
import { linearFit, type Measured, type Metric } from '../lib/yardstick.js';
import { floorLabel, freshCheckpointedDatabase, sleep, withFloor, withServer, type BenchContext } from './context.js';

export const MEMORY_METRICS: Metric[] = [
  { key: 'bytesPerConnection', label: 'B/connection (RSS − young gen)', digits: 0, better: 'lower', target: 1.3 },
  { key: 'fixedMB', label: 'fixed RSS MB', digits: 1, better: 'lower', target: 2 },
  { key: 'rawBytesPerConnection', label: 'B/connection (raw RSS)', digits: 0, better: 'lower' },
  { key: 'heapBytesPerConnection', label: 'JS heap B/connection', digits: 0, better: 'lower', absoluteOnly: true },
  { key: 'r2', label: 'fit r²', digits: 3, better: 'higher', absoluteOnly: true },
  { key: 'connectsPerSecond', label: 'connects/s', digits: 0, better: 'higher' },
  { key: 'connected', label: 'held', digits: 0, better: 'higher', absoluteOnly: true },
  { key: 'failed', label: 'failed', digits: 0, better: 'lower', absoluteOnly: true },
];

/** One file descriptor per socket, 20,000 per process: this many per process leaves room for everything else. */
const PER_PROCESS = 19_000;
/** Below the ~28,000 ports per (source address, destination) pair, with a margin. */
const PER_ADDRESS = 20_000;

interface Point {
  readonly connections: number;
  readonly rssBytes: number;
  readonly youngGenerationBytes: number;
  readonly heapUsedBytes: number;
}

/**
 * Samples one server process's memory as idle connections are added in steps
 * from `from` to `max`, each reading after a full collection; the
 * least-squares slope is the cost of a connection. The young generation's
 * size is taken out of RSS for the slope: it grows with the allocation rate of
 * a burst of upgrades and shrinks when things are quiet, whatever is held.
 * The fixed footprint is plain RSS after start-up and a settle.
 */
async function profile(ctx: BenchContext, server: BenchServer, url: string, clients: ClientSpec[]): Promise<{ figures: Measured['figures']; points: Point[] }> {
  const { memoryFrom: from, memoryMax: max, memoryPoints, settleSeconds } = ctx.options;
  const pid = server.pids()[0]!;
  await sleep(settleSeconds * 1000);
  const fixed = await settledRss(pid);
  const addresses = Array.from({ length: Math.max(2, Math.ceil(max / PER_ADDRESS)) }, (_, i) => `127.0.0.${i + 1}`);
  const fleet = new ClientFleet({ url, transport: 'ws', mode: 'idle', localAddresses: addresses }, Math.max(2, Math.ceil(max / (PER_PROCESS / 2))));
  try {
    const targets = Array.from({ length: memoryPoints }, (_, i) => Math.round(from + ((max - from) * i) / (memoryPoints - 1)));
    const points: Point[] = [];
    let held = { connected: 0, failed: 0 };
    let connectSeconds = 0;
    let offset = 0;
    for (const target of targets) {
      const started = performance.now();
      held = await fleet.add(clients.slice(offset, target));
      connectSeconds += (performance.now() - started) / 1000;
      offset = target;
      await sleep(500);
      const gc = await server.collectGarbage();
      await sleep(200);
      points.push({
        connections: held.connected,
        rssBytes: await settledRss(pid, 3, 400),
        youngGenerationBytes: gc.newSpaceBytes,
        heapUsedBytes: gc.heapUsedBytes,
      });
    }
    const fit = linearFit(points.map((p) => [p.connections, p.rssBytes - p.youngGenerationBytes]));
    const mb = (b: number) => (b / 2 ** 20).toFixed(1);
    console.log(
      `    connections: RSS MB (young generation MB): ${points.map((p) => `${p.connections}: ${mb(p.rssBytes)} (${mb(p.youngGenerationBytes)})`).join(', ')}`,
    );
    const figures = {
      bytesPerConnection: fit.slope,
      r2: fit.r2,
      rawBytesPerConnection: linearFit(points.map((p) => [p.connections, p.rssBytes])).slope,
      heapBytesPerConnection: linearFit(points.map((p) => [p.connections, p.heapUsedBytes])).slope,
      fixedMB: fixed / 2 ** 20,
      connectsPerSecond: held.connected / connectSeconds,
      connected: held.connected,
      failed: held.failed,
    };
    return { figures, points };
  } finally {
    await fleet.close();
  }
}

/** Memory: per-connection slope and fixed footprint of one server process, beside the floor's. */
export async function memory(ctx: BenchContext): Promise<void> {
  const { memoryMax: max, memoryFrom: from, memoryPoints } = ctx.options;
  if (max > PER_PROCESS) throw new Error(`--memory-max ${max}: one server process cannot hold more than about ${PER_PROCESS} sockets (20,000 descriptors)`);
  if (!(from > 0 && from < max && memoryPoints >= 3)) throw new Error('--memory-from must be above 0 and below --memory-max, with at least 3 points');
  const users = max + (max % 2);

  const floorUrl = await freshCheckpointedDatabase(ctx, 'memory_floor');
  const floorPort = await freePort();
  console.log(`  memory: ${floorLabel(ctx)}`);
  const floorRun = await withFloor(ctx, floorUrl, floorPort, (floor) => {
    const clients = Array.from({ length: users }, (_, i) => {
      const [userId, conversationId] = [i + 1, Math.floor(i / 2) + 1];
      return { token: '', userId, conversationId, sender: false, query: `uid=${userId}&conv=${conversationId}` };
    });
    return profile(ctx, floor, `ws://127.0.0.1:${floorPort}/ws`, clients);
  });

  const url = await freshCheckpointedDatabase(ctx, 'memory');
  const data = await seed(url, { users, pairs: users / 2 });
  const port = await freePort();
  console.log('  memory: server, TRANSPORT=uws');
  const serverRun = await withServer(ctx, { DATABASE_URL: url, PORT: String(port), TRANSPORT: 'uws', WORKERS: '1' }, (server) => {
    // Each connection is an authenticated user who follows one conversation, as on the floor.
    const clients = data.pairs.flatMap((p) => [p.a, p.b].map((u) => ({ token: u.token, userId: u.id, conversationId: p.conversationId, sender: false })));
    return profile(ctx, server, `ws://127.0.0.1:${port}/ws`, clients);
  });

  const remarks = (f: Record<string, number>) => [
    ...(f.failed! > 0 ? [`${f.failed} connections failed`] : []),
    ...(f.r2! < 0.9 ? [`memory fits a line poorly (r² ${f.r2!.toFixed(2)}): read the slope with care`] : []),
  ];
  const measured = (label: string, run: typeof floorRun): Measured => ({
    label,
    figures: run.figures,
    remarks: remarks(run.figures),
    detail: { points: run.points },
  });
  ctx.comparisons.push({
    scenario: 'memory, idle connections',
    description:
      `One process each; memory read at ${memoryPoints} points from ${from.toLocaleString('en-US')} to ${max.toLocaleString('en-US')} idle connections ` +
      '(each an authenticated user following one conversation; on the floor, a socket subscribed to one topic), each reading after a full collection; ' +
      "slope by least squares, of RSS less V8's young generation (whose size follows the allocation rate, not what is held), and of raw RSS. " +
      `Fixed: RSS after start-up and a ${ctx.options.settleSeconds} s settle, before any connection. Both run under Node with tsx.`,
    metrics: MEMORY_METRICS,
    floor: measured(floorLabel(ctx), floorRun),
    subjects: [measured('server, TRANSPORT=uws, /ws', serverRun)],
  });
}
