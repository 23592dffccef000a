/**
 * Scenarios the floor cannot play (several server processes; delivery between
 * them), kept as capacity checks. Their figures are absolute: comparable only
 * with figures of the same run.
 */
import { ClientFleet, drive } from '../lib/drive.js';
import { freePort } from '../lib/ports.js';
import { rssBytes } from '../lib/process-stats.js';
import { seed } from '../lib/seed.js';
import { startServer } from '../lib/server-process.js';
import { freshCheckpointedDatabase, sleep, withServer, type BenchContext } from './context.js';

const sumRss = (pids: number[]) => pids.reduce((s, pid) => s + rssBytes(pid), 0);

/** Scenario 3: many idle connections on WORKERS server processes sharing one port. */
export async function idle(ctx: BenchContext): Promise<void> {
  const { idle: total, idleWorkers: workers } = ctx.options;
  const url = await freshCheckpointedDatabase(ctx, 'idle');
  const data = await seed(url, { users: total });
  const port = await freePort();
  await withServer(ctx, { DATABASE_URL: url, PORT: String(port), WORKERS: String(workers), DB_POOL_MAX: '5', TRANSPORT: 'uws' }, async (server) => {
    await sleep(ctx.options.settleSeconds * 1000);
    const before = sumRss(server.pids());
    const fleet = new ClientFleet(
      { url: `ws://127.0.0.1:${port}/ws`, transport: 'ws', mode: 'idle', localAddresses: ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4'] },
      Math.max(1, Math.ceil(total / 15_000)),
    );
    try {
      const started = performance.now();
      const held = await fleet.add(data.users.map((u) => ({ token: u.token, userId: u.id, conversationId: 0, sender: false })));
      const connectSeconds = (performance.now() - started) / 1000;
      await sleep(2000);
      const after = sumRss(server.pids());
      ctx.absolute.push({
        scenario: '3 idle connections',
        variant: `${workers} server workers, ${total.toLocaleString('en-US')} clients`,
        figures: {
          connected: held.connected,
          failedConnections: held.failed,
          connectsPerSecond: held.connected / connectSeconds,
          serverRssMB: after / 2 ** 20,
          serverRssBeforeMB: before / 2 ** 20,
        },
      });
    } finally {
      await fleet.close();
    }
  });
}

/** Scenario 4: two server processes on one database, each sender's partner on the other process. */
export async function cross(ctx: BenchContext): Promise<void> {
  const { pairs } = ctx.options;
  const url = await freshCheckpointedDatabase(ctx, 'cross');
  const data = await seed(url, { users: pairs * 2, pairs });
  const [p1, p2] = [await freePort(), await freePort()];
  const s1 = await startServer({ DATABASE_URL: url, PORT: String(p1), TRANSPORT: 'uws', ...ctx.options.serverEnv });
  try {
    await withServer(ctx, { DATABASE_URL: url, PORT: String(p2), TRANSPORT: 'uws' }, async (s2) => {
      const offered = 5_000;
      const clients = data.pairs.flatMap((p) => [
        { token: p.a.token, userId: p.a.id, conversationId: p.conversationId, sender: true, url: `ws://127.0.0.1:${p1}/ws` },
        { token: p.b.token, userId: p.b.id, conversationId: p.conversationId, sender: false, url: `ws://127.0.0.1:${p2}/ws` },
      ]);
      const r = await drive({
        url: `ws://127.0.0.1:${p1}/ws`,
        transport: 'ws',
        mode: 'rate',
        ratePerSender: offered / pairs,
        clients,
        processes: ctx.options.loadProcesses,
        seconds: ctx.options.seconds,
        serverPids: () => [...s1.pids(), ...s2.pids()],
        postgresPid: ctx.postgresPid,
      });
      ctx.absolute.push({
        scenario: '4 two processes, clients split',
        variant: `${offered} msg/s offered`,
        figures: {
          ackedPerSecond: r.ackedPerSecond,
          crossProcessDeliveriesPerSecond: r.deliveriesPerSecond / 2,
          e2eP50: r.e2e.p50,
          e2eP99: r.e2e.p99,
          serverUsPerAck: r.serverUsPerAck,
          postgresUsPerAck: r.postgresUsPerAck,
          errors: r.errors,
        },
      });
    });
  } finally {
    await s1.stop();
  }
}
