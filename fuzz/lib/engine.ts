import { conversationStillWorks, healthy, rssOf, sampleRss, serverErrors } from './checks.js';
import { Findings, type Finding } from './findings.js';
import { findRootCauses, type RootCause } from './minimize.js';
import { Prng } from './prng.js';
import { fuzzRest, type RestStats } from './rest-channel.js';
import { fuzzSocketIo, type SocketIoStats } from './socketio-channel.js';
import { fuzzWs, sleep, type ChannelContext, type WsStats } from './ws-channel.js';
import { buildWorld, type FuzzTarget } from './world.js';

export interface FuzzOptions {
  readonly seed: string;
  /** Mutated `/ws` frames. */
  readonly frames: number;
  /** Mutated REST requests. */
  readonly rest: number;
  /** Socket.IO packets (emits, hand-written packets, protocol junk). */
  readonly socketio: number;
  /** Raw Engine.IO handshakes, on top of the packets. @default socketio / 10 */
  readonly handshakes?: number;
  /** How long one answer may take. @default 15000 */
  readonly answerTimeoutMs?: number;
  /** RSS after the fuzz may exceed RSS before by this fraction. @default 0.10 */
  readonly rssTolerance?: number;
  /** How long to wait for RSS to come back (garbage collection, idle timers). @default 60000 */
  readonly rssWaitMs?: number;
  /**
   * The warm-up before RSS is first read, as a fraction of the run (so the heap has grown to its
   * working size and the comparison shows what stays, not what a first run allocates). @default 0.05
   */
  readonly warmUp?: number;
  /** Reduce failing inputs to minimal ones after the checks. @default true */
  readonly minimize?: boolean;
  readonly log?: (line: string) => void;
}

export interface FuzzReport {
  readonly seed: string;
  readonly transport: string;
  readonly durationMs: number;
  readonly ws: WsStats | null;
  readonly rest: RestStats | null;
  readonly socketio: SocketIoStats | null;
  readonly rss: {
    readonly beforeBytes: number;
    readonly afterBytes: number;
    readonly peakBytes: number;
    readonly waitedMs: number;
    readonly withinTolerance: boolean;
  };
  readonly alive: boolean;
  readonly health: { readonly ok: boolean; readonly detail: string };
  readonly conversation: { readonly failedStep: string | null; readonly detail: string };
  readonly findings: Finding[];
  /** Failing inputs reduced and grouped by what they reduce to. */
  readonly rootCauses: RootCause[];
  readonly serverErrors: Array<{ count: number; line: string }>;
  /** One line per failed property; empty when the run passed. */
  readonly failures: string[];
  readonly passed: boolean;
}

/**
 * Runs the whole fuzz against a running server: builds its fixtures, warms
 * it up, measures RSS, fuzzes `/ws`, REST and Socket.IO in turn, then proves
 * the server is alive, healthy, back to its memory and still carries a
 * conversation. Never throws for what the server does; returns the report.
 */
export async function runFuzz(target: FuzzTarget, options: FuzzOptions): Promise<FuzzReport> {
  const started = Date.now();
  const log = options.log ?? (() => undefined);
  const findings = new Findings();
  const root = new Prng(options.seed);
  const answerTimeoutMs = options.answerTimeoutMs ?? 15_000;
  const tag = `${options.seed}_${Date.now().toString(36)}`.replace(/[^\w]/g, '_');
  log(`fuzz seed ${options.seed} against ${target.transport} (pid ${target.pid}, port ${target.port})`);
  const world = await buildWorld(target, tag);
  const ctx = (label: string): ChannelContext => ({ target, world, findings, prng: root.fork(label), log, answerTimeoutMs });

  let peak = 0;
  const peakTimer = setInterval(() => (peak = Math.max(peak, rssOf(target.pid))), 250);
  let ws: WsStats | null = null;
  let rest: RestStats | null = null;
  let socketio: SocketIoStats | null = null;
  let crashedDuring: string | null = null;
  const lived = (phase: string) => {
    if (target.alive() || crashedDuring) return target.alive();
    crashedDuring = phase;
    return false;
  };
  let before: number;
  try {
    // Warm-up: the first requests compile code and fill pools; memory is measured after it.
    log('warm-up');
    const warm = ctx('warm-up');
    const share = options.warmUp ?? 0.05;
    await fuzzWs(warm, Math.max(100, Math.min(5_000, Math.ceil(options.frames * share))));
    if (lived('warm-up')) await fuzzRest(warm, Math.max(20, Math.min(1_000, Math.ceil(options.rest * share))));
    if (lived('warm-up')) await fuzzSocketIo(warm, Math.max(20, Math.min(1_000, Math.ceil(options.socketio * share))), 20);
    await sleep(2_000);
    await collect(target);
    before = await sampleRss(target.pid);
    log(`RSS before: ${mb(before)}`);

    if (lived('warm-up')) {
      const t = Date.now();
      log(`/ws: ${options.frames} frames`);
      ws = await fuzzWs(ctx('ws'), options.frames);
      log(`/ws done in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    }
    if (lived('/ws')) {
      const t = Date.now();
      log(`REST: ${options.rest} requests`);
      rest = await fuzzRest(ctx('rest'), options.rest);
      log(`REST done in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    }
    if (lived('REST')) {
      const t = Date.now();
      const handshakes = options.handshakes ?? Math.ceil(options.socketio / 10);
      log(`Socket.IO: ${options.socketio} packets, ${handshakes} handshakes`);
      socketio = await fuzzSocketIo(ctx('socketio'), options.socketio, handshakes);
      log(`Socket.IO done in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    }
    lived('Socket.IO');
  } finally {
    clearInterval(peakTimer);
  }

  // Memory: back within tolerance once the fuzz's connections are gone and the heap has settled.
  // V8 gives memory back from its collector, which an idle process does not run: a trickle of
  // /healthz requests (what a load balancer sends anyway) lets its memory reducer do so.
  const tolerance = options.rssTolerance ?? 0.1;
  const waitMs = options.rssWaitMs ?? 60_000;
  const waitStart = Date.now();
  let after = 0;
  let waited = 0;
  if (target.alive()) {
    let trickling = true;
    const trickle = (async () => {
      while (trickling && target.alive()) {
        await fetch(`${world.baseUrl}/healthz`).then(
          (r) => r.text(),
          () => '',
        );
        await sleep(50);
      }
    })();
    await sleep(1_000);
    for (;;) {
      await collect(target);
      after = await sampleRss(target.pid);
      if (after <= before * (1 + tolerance) || Date.now() - waitStart >= waitMs || !target.alive()) break;
      await sleep(1_000);
    }
    trickling = false;
    await trickle;
    waited = Date.now() - waitStart;
    log(`RSS after: ${mb(after)} (waited ${(waited / 1000).toFixed(1)} s)`);
  }
  const alive = target.alive();
  const withinTolerance = alive && before > 0 && after <= before * (1 + tolerance);
  const health = alive ? await healthy(world.baseUrl) : { ok: false, detail: 'the process is gone' };
  const conversation = alive ? await conversationStillWorks(world, tag) : { failedStep: 'connect', detail: 'the process is gone' };
  const output = target.output();
  if (!alive) {
    findings.add('server', 'crash', crashedDuring ?? 'end', `the server process died during ${crashedDuring ?? 'the checks'}`, {
      input: `during ${crashedDuring ?? 'the checks'}; see the channels' findings and the server output`,
      response: output.slice(-4000),
      tags: [],
    });
  }
  if (alive && !withinTolerance) {
    findings.add(
      'server',
      'memory',
      'rss',
      `RSS grew by more than ${Math.round(tolerance * 100)}% over the fuzz and did not come back within ${waitMs / 1000} s`,
      {
        input: `RSS before ${mb(before)} (after warm-up), peak ${mb(peak)}`,
        response: `RSS after ${mb(after)} (+${(((after - before) / before) * 100).toFixed(1)}%)`,
        tags: [],
      },
    );
  }
  if (alive && !health.ok)
    findings.add('server', 'unhealthy', 'healthz', 'GET /healthz did not answer 200 {"status":"ok"} after the fuzz', {
      input: 'GET /healthz',
      response: health.detail,
      tags: [],
    });
  if (alive && conversation.failedStep) {
    findings.add('server', 'conversation-broken', conversation.failedStep, `an ordinary conversation failed after the fuzz at: ${conversation.failedStep}`, {
      input: conversation.failedStep,
      response: conversation.detail,
      tags: [],
    });
  }

  // Last, so the extra requests do not disturb the memory and health checks.
  const rootCauses = alive && options.minimize !== false ? await findRootCauses(target, world, findings, log) : [];
  const list = findings.list();
  const failures = list.filter((f) => f.failure).map((f) => `${f.channel} ${f.kind}: ${f.title} (×${f.count})`);
  return {
    seed: options.seed,
    transport: target.transport,
    durationMs: Date.now() - started,
    ws,
    rest,
    socketio,
    rss: { beforeBytes: before, afterBytes: after, peakBytes: peak, waitedMs: waited, withinTolerance },
    alive,
    health,
    conversation,
    findings: list,
    rootCauses,
    serverErrors: serverErrors(output),
    failures,
    passed: failures.length === 0,
  };
}

export const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

/** A full collection in the server, when it takes one on SIGUSR2, and a moment for the pages to go back. */
async function collect(target: FuzzTarget): Promise<void> {
  if (!target.collectGarbage || !target.alive()) return;
  process.kill(target.pid, 'SIGUSR2');
  await sleep(500);
}
