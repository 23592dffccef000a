import type { StormProgress, StormStats } from '../storm-worker.js';
import { dbActivity, DbWaitSampler, describeActivity } from './db-activity.js';
import { machineCpuByKind, tcpCounters } from './process-stats.js';
import { ResourceSampler, type ResourceGroups } from './resource-sampler.js';
import { now, percentiles, perSecond } from './stats.js';
import type { StormFleet } from './storm-fleet.js';

/** One storm, measured: absolute figures (there is no floor to play it) and notes for the report. */
export interface StormPhase {
  readonly label: string;
  /** When the disruption began (wall clock, ms). */
  readonly mark: number;
  readonly targetSeconds: number;
  readonly figures: Record<string, number>;
  readonly notes: string[];
}

export interface StormRun {
  readonly label: string;
  readonly targetSeconds: number;
  readonly fleet: StormFleet;
  readonly groups: ResourceGroups;
  /** The storm's database, for what it did during the storm. */
  readonly url: string;
  readonly timeoutMs: number;
  /** Breaks the server; `milestone(key, at?)` records a figure: seconds from the disruption to `at` (now). */
  readonly disrupt: (milestone: (key: string, at?: number) => void) => Promise<void>;
}

let origin = performance.now();

/** Progress lines stamped with the time since the scenario began (it has a time budget to keep). */
export function say(line: string, restart = false): void {
  if (restart) origin = performance.now();
  console.log(`  storm [${((performance.now() - origin) / 1000).toFixed(0).padStart(3)} s] ${line}`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Numbers added, maps of counts merged: the running totals of every client process. */
export function sumStats(all: StormStats[]): StormStats {
  return all.reduce((total, s) => combine(total, s, 1));
}

/** `a + sign × b`, field by field. */
function combine<T extends object>(a: T, b: T, sign: 1 | -1): T {
  const out: Record<string, unknown> = { ...(a as Record<string, unknown>) };
  for (const [k, v] of Object.entries(b)) {
    const mine = (a as Record<string, unknown>)[k];
    if (typeof v === 'number') out[k] = ((mine as number | undefined) ?? 0) + sign * v;
    else {
      const merged: Record<string, number> = { ...(mine as Record<string, number> | undefined) };
      for (const [key, n] of Object.entries(v as Record<string, number>)) merged[key] = (merged[key] ?? 0) + sign * n;
      for (const key of Object.keys(merged)) if (merged[key] === 0) delete merged[key];
      out[k] = merged;
    }
  }
  return out as T;
}

/** Element-wise sum of series of different lengths. */
const sumSeries = (all: number[][]): number[] =>
  Array.from({ length: Math.max(0, ...all.map((a) => a.length)) }, (_, i) => all.reduce((s, a) => s + (a[i] ?? 0), 0));

const total = (m: Record<string, number>) => Object.values(m).reduce((s, n) => s + n, 0);

function sumProgress(all: StormProgress[]): StormProgress {
  return all.reduce((t, p) => ({
    clients: t.clients + p.clients,
    open: t.open + p.open,
    back: t.back + p.back,
    dropped: t.dropped + p.dropped,
    notBack: t.notBack + p.notBack,
    undelivered: t.undelivered + p.undelivered,
    pendingSends: t.pendingSends + p.pendingSends,
  }));
}

/**
 * Polls until every client is connected and caught up and every message
 * acknowledged at least a second ago has reached its other participant (or
 * the time is up). Not before some connection has dropped: a kill takes a
 * moment to be seen.
 */
async function waitForRecovery(fleet: StormFleet, mark: number, timeoutMs: number): Promise<{ recovered: boolean; progress: StormProgress }> {
  let dropped = false;
  for (;;) {
    const progress = sumProgress(await fleet.progress(mark, 1_000));
    dropped ||= progress.dropped > 0;
    if (dropped && progress.notBack === 0 && progress.open === progress.clients && progress.undelivered === 0) return { recovered: true, progress };
    if (now() - mark > timeoutMs) return { recovered: false, progress };
    await sleep(200);
  }
}

/**
 * Runs one storm. Recovery is the later of: the last dropped client back
 * (connected, catch-up done), and the last first receipt of any message
 * acknowledged to its sender by then; so a message acknowledged before the
 * disruption but delivered only by a catch-up counts in full.
 */
export async function runStorm(r: StormRun): Promise<StormPhase> {
  const before = sumStats(await r.fleet.stats());
  const dbBefore = await dbActivity(r.url);
  const sampler = new ResourceSampler(r.groups);
  const tcpBefore = tcpCounters();
  const cpuBefore = machineCpuByKind();
  const milestones: Record<string, number> = {};
  say(r.label);
  const waits = new DbWaitSampler(r.url);
  await waits.begin();
  sampler.begin();
  const mark = now();
  await r.disrupt((key, at = now()) => (milestones[key] = (at - mark) / 1000));
  const waited = await waitForRecovery(r.fleet, mark, r.timeoutMs);
  const use = sampler.end();
  const db = await waits.end();
  const tcpAfter = tcpCounters();
  const cpuAfter = machineCpuByKind();
  await sleep(1_500); // messages acknowledged just before the end of the wait reach their receivers
  const rec = await r.fleet.recovery(mark);
  const dropped = rec.reduce((s, x) => s + x.dropped, 0);
  const notBack = rec.reduce((s, x) => s + x.notBack, 0);
  const allBackAt = Math.max(...rec.map((x) => x.lastBackAt));
  const delivered = await r.fleet.deliveredBy(allBackAt);
  const missing = delivered.reduce((s, x) => s + x.missing, 0);
  const recoveredAt = Math.max(allBackAt, ...delivered.map((x) => x.lastReceivedAt));
  const recovered = waited.recovered && notBack === 0 && missing === 0;
  const afterStats = await r.fleet.stats();
  const loopDelayP99Ms = Math.max(...afterStats.map((x) => x.loopDelayP99Ms));
  const loopDelayMaxMs = Math.max(...afterStats.map((x) => x.loopDelayMaxMs));
  const d = combine(sumStats(afterStats), before, -1);
  const dbAfter = await dbActivity(r.url);
  const reopens = rec.flatMap((x) => x.reopens).sort((a, b) => a - b);
  const timeline = perSecond(reopens, mark);
  const spread = reopens.length > 1 ? (reopens.at(-1)! - reopens[0]!) / 1000 : NaN;

  const handshakes = rec.flatMap((x) => x.handshakes);
  const ms = (status: number, i: 1 | 2) => percentiles(handshakes.filter((h) => h[0] === status && Number.isFinite(h[i])).map((h) => h[i]));
  const [tcp101, answer101, answer503] = [ms(101, 1), ms(101, 2), ms(503, 2)];
  const unanswered = handshakes.filter((h) => h[0] === 0);

  const figures: Record<string, number> = {
    recoveredSeconds: recovered ? (recoveredAt - mark) / 1000 : NaN,
    allBackSeconds: notBack === 0 ? (allBackAt - mark) / 1000 : NaN,
    ...milestones,
    clientsDropped: dropped,
    notBack,
    undeliveredAtRecovery: missing,
    reconnectAttempts: d.attempts,
    reconnects: d.opens,
    status503: d.status503,
    otherAnswers: total(d.otherStatus),
    noAnswer: total(d.networkErrors),
    reconnectsPerSecondMean: reopens.length / spread,
    reconnectsPerSecondPeak: Math.max(0, ...timeline),
    handshakeTcpP99Ms: tcp101.p99,
    handshakeAnswerP50Ms: answer101.p50,
    handshakeAnswerP99Ms: answer101.p99,
    catchUpPages: d.catchUpPages,
    catchUpErrors: total(d.catchUpErrors),
    rawDuplicates: d.rawDuplicates,
    appDuplicates: d.appDuplicates,
    acked: d.acked,
    dbTransactionsPerReconnect: (dbAfter.transactions - dbBefore.transactions) / Math.max(1, d.opens),
    serverPeakRssMB: use.serverPeakRssMB,
    postgresPeakPssMB: use.postgresPeakPssMB,
    serverUsPerReconnect: (use.serverCores * use.seconds * 1e6) / Math.max(1, d.opens),
    postgresUsPerReconnect: (use.postgresCores * use.seconds * 1e6) / Math.max(1, d.opens),
    clientLoopDelayP99Ms: loopDelayP99Ms,
    serverCores: use.serverCores,
    postgresCores: use.postgresCores,
    clientCores: use.clientCores,
    otherCores: use.otherCores,
  };
  const series = (values: number[]) => values.join(' ');
  const percent = (cpu: number[]) => series(cpu.map((c) => Math.round(c * 100)));
  const notes = [
    `database, everything in the window (chat included) ${describeActivity(dbAfter, dbBefore, Math.max(1, d.opens), 'reconnect')}`,
    `second by second after the disruption: reconnects ${series(timeline)}; attempts ${series(sumSeries(rec.map((x) => x.attemptsPerSecond)))}; ` +
      `503s ${series(sumSeries(rec.map((x) => x.refusalsPerSecond)))}; CPU % server ${percent(use.perSecond.server)}, PostgreSQL ${percent(use.perSecond.postgres)}, ` +
      `clients ${percent(use.perSecond.clients)}`,
    `handshakes started in the window: ${handshakes.length}; answered 101: TCP connect p50 ${tcp101.p50.toFixed(0)} ms, p99 ${tcp101.p99.toFixed(0)} ms, ` +
      `then the answer p50 ${answer101.p50.toFixed(0)} ms, p99 ${answer101.p99.toFixed(0)} ms; answered 503: answer p50 ${answer503.p50.toFixed(0)} ms; ` +
      `no answer: ${unanswered.length} (${unanswered.filter((h) => Number.isFinite(h[1])).length} of them after TCP had connected)`,
    `client processes' event loops: delay p99 ${loopDelayP99Ms.toFixed(0)} ms, max ${loopDelayMaxMs.toFixed(0)} ms (a late client also measures its handshakes late)`,
    `the machine's CPU by kind, cores: ${(['user', 'system', 'softirq', 'steal', 'idle'] as const).map((k) => `${k} ${((cpuAfter[k] - cpuBefore[k]) / use.seconds).toFixed(2)}`).join(', ')}; ` +
      `TCP counters (machine-wide) ${Object.entries(tcpAfter)
        .map(([k, v]) => `${k} ${v - (tcpBefore[k] ?? 0)}`)
        .join(', ')}`,
    `PostgreSQL, second by second: statements running ${series(db.active)}; waiting on a lock ${series(db.lockWaits)}; ` +
      `waits seen ${JSON.stringify(db.waitEvents)}; longest statement seen ${db.longestSeconds.toFixed(1)} s: \`${db.longestQuery}\``,
    `other load ${use.otherCores.toFixed(2)} cores: this harness ${use.harnessCores.toFixed(2)}, other processes alive throughout ${use.otherLongLivedCores.toFixed(2)} ` +
      `(busiest ${use.otherProcesses
        .slice(0, 2)
        .map((p) => `${p.cores.toFixed(2)} \`${p.command.slice(0, 50)}\``)
        .join(', ')}), ` +
      'the rest in processes that came and went, and in the kernel',
    `server processes while seen: ${use.serverProcesses
      .filter((p) => p.seconds > 0)
      .map(
        (p) =>
          `${p.pid} ${p.cores.toFixed(2)} cores, main thread waiting for a CPU ${Math.round(100 * p.waitingForCpu)} % of the time (${p.seconds.toFixed(0)} s)`,
      )
      .join('; ')}`,
    `closes seen by clients ${JSON.stringify(d.closes)}; attempts without an answer ${JSON.stringify(d.networkErrors)}` +
      `${total(d.otherStatus) ? `; answers other than 101/503 ${JSON.stringify(d.otherStatus)}` : ''}` +
      `${total(d.catchUpErrors) ? `; catch-up errors ${JSON.stringify(d.catchUpErrors)}` : ''}`,
    ...(recovered
      ? []
      : [
          `not recovered within ${r.timeoutMs / 1000} s: ${JSON.stringify(waited.progress)}; ${missing} messages acknowledged by the last return not delivered 1.5 s later`,
        ]),
  ];
  say(
    `${r.label}: ${recovered ? `recovered in ${figures.recoveredSeconds!.toFixed(1)} s` : 'NOT recovered'}; ${dropped} dropped, ${d.opens} reconnects in ${d.attempts} attempts, ` +
      `${d.status503} × 503; server ${use.serverCores.toFixed(2)} cores, PG ${use.postgresCores.toFixed(2)}, clients ${use.clientCores.toFixed(2)}, other ${use.otherCores.toFixed(2)}`,
  );
  return { label: r.label, mark, targetSeconds: r.targetSeconds, figures, notes };
}
