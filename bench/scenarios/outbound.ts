/**
 * The outbound scenario: what webhooks and Web Push cost the send path. The
 * same closed loop twice in one run, on the same data: groups of three where
 * two members send and the third is offline with a push subscription. Off:
 * no webhook endpoint and no subscription. On: `WEBHOOK_URL` takes every
 * stream event, and every message leaves the third member a `message.unread`
 * notice and (coalesced) a push. The receivers are local and answer at once,
 * so every delivery is paid for in full within the window.
 */
import { createECDH, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { drive, type DriveResult } from '../lib/drive.js';
import { freePort } from '../lib/ports.js';
import { seed, type SeededUser } from '../lib/seed.js';
import { medianFigures, OTHER_LOAD_WARNING, type Measured, type Metric } from '../lib/yardstick.js';
import { freshCheckpointedDatabase, withServer, type BenchContext } from './context.js';

export const OUTBOUND_METRICS: Metric[] = [
  { key: 'ackedPerSecond', label: 'acked/s', digits: 0, better: 'higher', target: 0.9 },
  { key: 'ackP50', label: 'ack p50 ms', digits: 1, better: 'lower' },
  { key: 'ackP99', label: 'ack p99 ms', digits: 1, better: 'lower' },
  { key: 'serverUsPerAck', label: 'server µs/msg', digits: 1, better: 'lower' },
  { key: 'postgresUsPerAck', label: 'PG µs/msg', digits: 1, better: 'lower' },
  { key: 'webhooksPerSecond', label: 'webhooks/s', digits: 0, better: 'higher', absoluteOnly: true },
  { key: 'pushesPerSecond', label: 'pushes/s', digits: 1, better: 'higher', absoluteOnly: true },
  { key: 'errors', label: 'errors', digits: 0, better: 'lower', absoluteOnly: true },
  { key: 'otherCores', label: 'other load, cores', digits: 2, better: 'lower', absoluteOnly: true },
];

/** A local endpoint that answers every POST at once with `status` and counts them. */
async function receiver(status: number): Promise<{ url: string; count: () => number; close: () => Promise<void> }> {
  let received = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received += 1;
      res.writeHead(status).end();
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    count: () => received,
    close: () => new Promise((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

/** A browser's PushSubscription for an endpoint: a fresh P-256 key and auth secret. */
function subscription(endpoint: string) {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  return { endpoint, keys: { p256dh: ecdh.getPublicKey().toString('base64url'), auth: randomBytes(16).toString('base64url') } };
}

type Run = DriveResult & { webhooksPerSecond: number; pushesPerSecond: number };

async function run(ctx: BenchContext, round: number, on: boolean): Promise<Run> {
  const url = await freshCheckpointedDatabase(ctx, `outbound_${on ? 'on' : 'off'}_${round}`);
  const data = await seed(url, { users: ctx.options.pairs * 3, groups: Array.from({ length: ctx.options.pairs }, () => 3) });
  const port = await freePort();
  const [hooks, push] = [await receiver(204), await receiver(201)];
  // The receivers are on loopback, which the outbound guard allows only outside production (NODE_ENV changes nothing else
  // the server does but pretty logs on a terminal): both variants run with NODE_ENV=test, so their ratio stays like for like.
  const env: Record<string, string> = {
    NODE_ENV: 'test',
    DATABASE_URL: url,
    PORT: String(port),
    TRANSPORT: 'uws',
    OUTBOUND_ALLOW_PRIVATE: 'true',
    PUSH_ALLOWED_HOSTS: '127.0.0.1',
  };
  if (on) Object.assign(env, { WEBHOOK_URL: `${hooks.url}/hooks`, WEBHOOK_SECRET: `whsec_${randomBytes(32).toString('base64')}` });
  try {
    return await withServer(ctx, env, async (server) => {
      if (on)
        await subscribeOffline(
          `http://127.0.0.1:${port}`,
          data.groups.map((g) => g.members[2]!),
          `${push.url}/push`,
        );
      const clients = data.groups.flatMap((g) =>
        g.members.slice(0, 2).map((u) => ({ token: u.token, userId: u.id, conversationId: g.conversationId, sender: true })),
      );
      const [hooksBefore, pushesBefore] = [hooks.count(), push.count()];
      const result = await drive({
        url: `ws://127.0.0.1:${port}/ws`,
        transport: 'ws',
        mode: 'closed-loop',
        clients,
        processes: ctx.options.loadProcesses,
        seconds: ctx.options.seconds,
        serverPids: server.pids,
        postgresPid: ctx.postgresPid,
      });
      return {
        ...result,
        webhooksPerSecond: (hooks.count() - hooksBefore) / result.seconds,
        pushesPerSecond: (push.count() - pushesBefore) / result.seconds,
      };
    });
  } finally {
    await Promise.all([hooks.close(), push.close()]);
  }
}

async function subscribeOffline(base: string, users: SeededUser[], endpoint: string): Promise<void> {
  for (const [i, user] of users.entries()) {
    const res = await fetch(`${base}/push/subscriptions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${user.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(subscription(`${endpoint}/${i}`)),
    });
    if (res.status !== 201) throw new Error(`POST /push/subscriptions answered ${res.status}: ${await res.text()}`);
  }
}

const figures = (r: Run): Record<string, number> => ({
  ackedPerSecond: r.ackedPerSecond,
  ackP50: r.ack.p50,
  ackP99: r.ack.p99,
  serverUsPerAck: r.serverUsPerAck,
  postgresUsPerAck: r.postgresUsPerAck,
  webhooksPerSecond: r.webhooksPerSecond,
  pushesPerSecond: r.pushesPerSecond,
  errors: r.errors,
  otherCores: r.otherCores,
});

const remarks = (runs: Run[]): string[] => {
  const other = Math.max(...runs.map((r) => r.otherCores));
  const errors = runs.reduce((s, r) => s + r.errors, 0);
  return [
    ...(errors > 0 ? [`${errors} errors`] : []),
    ...(other > OTHER_LOAD_WARNING ? [`other work on the machine took up to ${other.toFixed(2)} cores: its ratios are suspect`] : []),
  ];
};

export async function outbound(ctx: BenchContext): Promise<void> {
  const runs: [Run[], Run[]] = [[], []];
  for (let round = 0; round < ctx.options.rounds; round++) {
    for (const [i, on] of [false, true].entries()) {
      const result = await run(ctx, round, on);
      runs[i]!.push(result);
      console.log(
        `  outbound, round ${round + 1}, webhooks and push ${on ? 'on' : 'off'}: ${Math.round(result.ackedPerSecond)} acked/s, ` +
          `${Math.round(result.webhooksPerSecond)} webhooks/s, ${result.pushesPerSecond.toFixed(1)} pushes/s`,
      );
    }
  }
  const measured: Measured[] = ['webhooks and push off', 'webhooks and push on'].map((label, i) => ({
    label,
    figures: medianFigures(runs[i]!.map(figures)),
    remarks: remarks(runs[i]!),
  }));
  ctx.comparisons.push({
    scenario: 'outbound: webhooks and Web Push',
    description:
      `${ctx.options.pairs * 2} clients sending in a closed loop in ${ctx.options.pairs} groups of three, the third member offline, ` +
      `${ctx.options.seconds} s per variant${ctx.options.rounds > 1 ? `, median of ${ctx.options.rounds} interleaved rounds` : ''}. ` +
      'On: WEBHOOK_URL takes every stream event, and each offline member has a push subscription; both endpoints are local and answer at once. ' +
      'The yardstick is the same run with both off.',
    metrics: OUTBOUND_METRICS,
    floor: measured[0]!,
    subjects: measured.slice(1),
  });
}
