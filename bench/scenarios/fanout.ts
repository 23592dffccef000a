import { drive, type DriveResult } from '../lib/drive.js';
import { freePort } from '../lib/ports.js';
import { seed } from '../lib/seed.js';
import { OTHER_LOAD_WARNING, type Metric } from '../lib/yardstick.js';
import { floorLabel, freshCheckpointedDatabase, withFloor, withServer, type BenchContext } from './context.js';

export const FANOUT_METRICS: Metric[] = [
  { key: 'deliveriesPerSecond', label: 'deliveries/s', digits: 0, better: 'higher' },
  { key: 'e2eP50', label: 'e2e p50 ms', digits: 1, better: 'lower' },
  { key: 'e2eP99', label: 'e2e p99 ms', digits: 1, better: 'lower' },
  { key: 'serverUsPerDelivery', label: 'server µs/delivery', digits: 2, better: 'lower' },
  { key: 'postgresUsPerAck', label: 'PG µs/msg', digits: 1, better: 'lower' },
  { key: 'ackedPerSecond', label: 'acked/s', digits: 0, better: 'higher', absoluteOnly: true },
  { key: 'loadGenMaxCores', label: 'load gen max cores', digits: 2, better: 'lower', absoluteOnly: true },
  { key: 'otherCores', label: 'other load, cores', digits: 2, better: 'lower', absoluteOnly: true },
];

/** Offered messages per second for a group of this size (one sender). */
const RATES: Record<number, number> = { 10: 1000, 100: 400, 1000: 150 };

const figures = (r: DriveResult) => ({
  deliveriesPerSecond: r.deliveriesPerSecond,
  ackedPerSecond: r.ackedPerSecond,
  e2eP50: r.e2e.p50,
  e2eP99: r.e2e.p99,
  serverUsPerDelivery: r.serverUsPerDelivery,
  postgresUsPerAck: r.postgresUsPerAck,
  serverCores: r.serverCores,
  loadGenMaxCores: r.loadGenMaxCores,
  otherCores: r.otherCores,
});

const remarks = (r: DriveResult) => [
  ...(r.errors > 0 ? [`${r.errors} errors`] : []),
  ...(r.loadGenBottleneck ? ['a load-generator process was above 0.9 core: the load generator may be the limit'] : []),
  ...(r.otherCores > OTHER_LOAD_WARNING ? [`other work on the machine took ${r.otherCores.toFixed(2)} cores during its run: its ratios are suspect`] : []),
];

/** Scenario 2: one sender at a fixed rate in a group; every member receives every message. Floor and server at the same offered rate. */
export async function fanout(ctx: BenchContext): Promise<void> {
  for (const size of ctx.options.groups) {
    const rate = RATES[size] ?? Math.max(10, 100_000 / size);
    const run = (url: string, clients: Parameters<typeof drive>[0]['clients'], serverPids: () => number[]) =>
      drive({
        url,
        transport: 'ws',
        mode: 'rate',
        ratePerSender: rate,
        clients,
        processes: ctx.options.loadProcesses,
        seconds: ctx.options.seconds,
        serverPids,
        postgresPid: ctx.postgresPid,
      });

    const floorUrl = await freshCheckpointedDatabase(ctx, `fanout_floor_${size}`);
    const floorPort = await freePort();
    const floorRun = await withFloor(ctx, floorUrl, floorPort, (floor) =>
      run(
        `ws://127.0.0.1:${floorPort}/ws`,
        Array.from({ length: size }, (_, i) => ({ token: '', userId: i + 1, conversationId: 1, sender: i === 0, query: `uid=${i + 1}&conv=1` })),
        floor.pids,
      ),
    );

    const url = await freshCheckpointedDatabase(ctx, `fanout${size}`);
    const data = await seed(url, { users: size, groups: [size] });
    const port = await freePort();
    const serverRun = await withServer(ctx, { DATABASE_URL: url, PORT: String(port), TRANSPORT: 'uws' }, (server) => {
      const group = data.groups[0]!;
      const clients = group.members.map((m, i) => ({ token: m.token, userId: m.id, conversationId: group.conversationId, sender: i === 0 }));
      return run(`ws://127.0.0.1:${port}/ws`, clients, server.pids);
    });
    console.log(
      `  fan-out ${size}: floor ${Math.round(floorRun.deliveriesPerSecond)} deliveries/s, server ${Math.round(serverRun.deliveriesPerSecond)} deliveries/s`,
    );

    ctx.comparisons.push({
      scenario: `2 fan-out, group of ${size}`,
      description: `One sender offering ${rate} messages/s to a group of ${size} (every member, the sender included, receives each message), ${ctx.options.seconds} s each.`,
      metrics: FANOUT_METRICS,
      floor: { label: floorLabel(ctx), figures: figures(floorRun), remarks: remarks(floorRun) },
      subjects: [{ label: 'server, TRANSPORT=uws, /ws', figures: figures(serverRun), remarks: remarks(serverRun) }],
    });
  }
}
