/**
 * One client process of the reconnect-storm scenario (bench/scenarios/storm.ts),
 * driven over IPC: every request carries an id, answered once with the same id.
 *
 * - `upgrades`: upgrades one connection after another on `inFlight` slots
 *   and holds them, counting the answers (the raw upgrade rate).
 * - `connect`: the chat clients of some one-to-one conversations (both
 *   participants in this process, so a message's acknowledgement and its
 *   delivery are timed on one clock), then `chat`, `progress`, `recovery`,
 *   `deliveredBy`, `final` as the scenario asks.
 */
import type net from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { rawUpgrades } from './lib/raw-upgrades.js';
import { StormClient, type StormIdentity } from './lib/storm-client.js';
import { Ledger, StormCounters } from './lib/storm-ledger.js';
import { now, perSecond } from './lib/stats.js';

export interface StormPair {
  readonly conversationId: number;
  readonly a: { readonly id: number; readonly token: string };
  readonly b: { readonly id: number; readonly token: string };
  /** Whether both participants send. */
  readonly chatty: boolean;
}

export type StormRequest =
  | { type: 'upgrades'; url: string; queries: string[]; inFlight: number; localAddresses: string[] }
  | { type: 'connect'; url: string; pairs: StormPair[]; localAddresses: string[]; concurrency: number }
  | { type: 'chat'; ratePerChatter: number }
  | { type: 'stopChat' }
  | { type: 'stats' }
  | { type: 'progress'; since: number; settledBeforeMs: number }
  | { type: 'recovery'; since: number }
  | { type: 'deliveredBy'; cutoff: number }
  | { type: 'final' };

/** Running totals: the orchestrator takes differences between two readings. */
export interface StormStats extends StormCounters {
  cpuSeconds: number;
  /** This process's event-loop delay since the previous reading (not a running total): a late client measures late. */
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
}

export interface StormProgress {
  clients: number;
  open: number;
  back: number;
  /** Clients whose connection dropped at or after `since`, or that were not back from an earlier drop. */
  dropped: number;
  /** Of those, not yet connected and caught up. */
  notBack: number;
  /** Messages acknowledged at least `settledBeforeMs` ago that the other participant has not received. */
  undelivered: number;
  pendingSends: number;
}

export interface StormRecovery {
  dropped: number;
  notBack: number;
  /** The latest time a dropped client was connected and caught up again. */
  lastBackAt: number;
  /** When each reconnect since `since` opened (wall clock, ms). */
  reopens: number[];
  /** Second by second since `since`: connection attempts started, and refused with 503. */
  attemptsPerSecond: number[];
  refusalsPerSecond: number[];
  /** Attempts started since `since`: [status (0: no answer), TCP connect ms, then answer ms]. */
  handshakes: Array<[number, number, number]>;
}

export interface StormFinal {
  acked: number;
  received: number;
  /** Acknowledgement times of messages the other participant never received, although connected and caught up. */
  lostAckedAt: number[];
  /** Messages not received by another participant who is not (yet) back: not lost, not delivered either. */
  unreached: number;
  rawDuplicates: number;
  appDuplicates: number;
  /** For every acknowledged message, ack → first receipt by the other participant, ms. */
  deliveryMs: number[];
}

const counters = new StormCounters();
const ledger = new Ledger();
const clients: StormClient[] = [];
const held: net.Socket[] = [];
let chatTimer: NodeJS.Timeout | null = null;
const padding = 'x'.repeat(48);
const loopDelay = monitorEventLoopDelay({ resolution: 20 });
loopDelay.enable();

async function connect(r: Extract<StormRequest, { type: 'connect' }>): Promise<{ connected: number }> {
  const mine: Array<{ client: StormClient; chatty: boolean }> = [];
  r.pairs.forEach((p, i) => {
    const [a, b] = [p.a, p.b].map((user, k) => {
      const me: StormIdentity = { userId: user.id, token: user.token, conversationId: p.conversationId };
      const localAddress = r.localAddresses[(2 * i + k) % r.localAddresses.length];
      return new StormClient(me, { url: r.url, counters, ledger, padding, ...(localAddress ? { localAddress } : {}) });
    }) as [StormClient, StormClient];
    a.partner = b;
    b.partner = a;
    mine.push({ client: a, chatty: p.chatty }, { client: b, chatty: p.chatty });
  });
  const queue = [...mine];
  // The first connections go in a bounded stream: the scenario's subject is the reconnect, not this.
  await Promise.all(
    Array.from({ length: Math.max(1, r.concurrency) }, async () => {
      for (let c = queue.shift(); c; c = queue.shift()) await c.client.start();
    }),
  );
  clients.push(...mine.map((m) => m.client));
  chatters = mine.filter((m) => m.chatty).map((m) => m.client);
  return { connected: clients.filter((c) => c.isOpen).length };
}

let chatters: StormClient[] = [];

function chat(ratePerChatter: number): void {
  const perSecond = ratePerChatter * chatters.length;
  const started = performance.now();
  let due = 0;
  let next = 0;
  // Offered by the clock, round robin over the chatters; an offline chatter's turn is skipped.
  chatTimer = setInterval(() => {
    const target = Math.floor(((performance.now() - started) / 1000) * perSecond);
    for (; due < target; due++) chatters[next++ % chatters.length]!.sendNew();
  }, 20);
}

/**
 * Whether a storm that began at `since` concerns this client: it dropped
 * since then, or it was still (or again) on its way back from an earlier one.
 */
const affected = (c: StormClient, since: number) => c.droppedAt >= since || !c.recovered || (c.droppedAt > 0 && c.backAt >= since);

function progress(since: number, settledBeforeMs: number): StormProgress {
  const p: StormProgress = { clients: clients.length, open: 0, back: 0, dropped: 0, notBack: 0, undelivered: 0, pendingSends: 0 };
  for (const c of clients) {
    if (c.isOpen) p.open += 1;
    if (c.isBack) p.back += 1;
    p.pendingSends += c.pendingSends;
    if (affected(c, since)) {
      p.dropped += 1;
      if (!c.recovered) p.notBack += 1;
    }
  }
  const before = now() - settledBeforeMs;
  for (const [id, at] of ledger.ackAt) if (at <= before && !ledger.receivedAt.has(id)) p.undelivered += 1;
  return p;
}

function recovery(since: number): StormRecovery {
  const r: StormRecovery = {
    dropped: 0,
    notBack: 0,
    lastBackAt: 0,
    reopens: ledger.reopens.filter((t) => t >= since),
    attemptsPerSecond: perSecond(ledger.attempts, since),
    refusalsPerSecond: perSecond(ledger.refusals, since),
    handshakes: ledger.handshakes.filter((h) => h.at >= since).map((h) => [h.status, h.tcpMs, h.answerMs]),
  };
  for (const c of clients) {
    if (!affected(c, since)) continue;
    r.dropped += 1;
    if (c.recovered) r.lastBackAt = Math.max(r.lastBackAt, c.backAt);
    else r.notBack += 1;
  }
  return r;
}

function deliveredBy(cutoff: number): { lastReceivedAt: number; missing: number } {
  let lastReceivedAt = 0;
  let missing = 0;
  for (const [id, at] of ledger.ackAt) {
    if (at > cutoff) continue;
    const received = ledger.receivedAt.get(id);
    if (received === undefined) missing += 1;
    else lastReceivedAt = Math.max(lastReceivedAt, received);
  }
  return { lastReceivedAt, missing };
}

function final(): StormFinal {
  const lostAckedAt: number[] = [];
  const deliveryMs: number[] = [];
  let unreached = 0;
  for (const [id, at] of ledger.ackAt) {
    const received = ledger.receivedAt.get(id);
    if (received !== undefined) deliveryMs.push(received - at);
    else if (ledger.receiverOf.get(id)?.recovered === false) unreached += 1;
    else lostAckedAt.push(at);
  }
  return {
    acked: ledger.ackAt.size,
    received: ledger.receivedAt.size,
    lostAckedAt,
    unreached,
    rawDuplicates: counters.rawDuplicates,
    appDuplicates: counters.appDuplicates,
    deliveryMs,
  };
}

async function handle(r: StormRequest): Promise<unknown> {
  switch (r.type) {
    case 'upgrades':
      return rawUpgrades(r, held);
    case 'connect':
      return connect(r);
    case 'chat':
      return chat(r.ratePerChatter);
    case 'stopChat':
      if (chatTimer) clearInterval(chatTimer);
      chatTimer = null;
      return null;
    case 'stats': {
      const cpu = process.cpuUsage();
      const delay = { loopDelayP99Ms: loopDelay.percentile(99) / 1e6, loopDelayMaxMs: loopDelay.max / 1e6 };
      loopDelay.reset();
      return { ...counters, cpuSeconds: (cpu.user + cpu.system) / 1e6, ...delay } satisfies StormStats;
    }
    case 'progress':
      return progress(r.since, r.settledBeforeMs);
    case 'recovery':
      return recovery(r.since);
    case 'deliveredBy':
      return deliveredBy(r.cutoff);
    case 'final':
      return final();
  }
}

// Orphaned (the orchestrator died): do not keep sockets open or reconnecting on its behalf.
process.on('disconnect', () => process.exit(0));
process.on('message', (msg: { id: number; request: StormRequest } | { type: 'close' }) => {
  if ('type' in msg) {
    if (chatTimer) clearInterval(chatTimer);
    for (const c of clients) c.stop();
    // With a reset: an orderly close would leave thousands of this machine's ports in TIME_WAIT for the next part.
    for (const socket of held) socket.resetAndDestroy();
    setTimeout(() => process.exit(0), 200);
    return;
  }
  void handle(msg.request).then(
    (result) => process.send!({ id: msg.id, result }),
    (error: unknown) => process.send!({ id: msg.id, error: String(error) }),
  );
});
process.send!({ ready: true });
