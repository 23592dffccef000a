import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { ClientSpec, WorkerReport, WorkerSpec } from '../load-worker.js';
import { CpuMeter, machineBusySeconds, PeakRss } from './process-stats.js';
import { percentiles } from './stats.js';

const workerEntry = path.resolve(import.meta.dirname, '../load-worker.ts');

export interface DriveSpec extends Omit<WorkerSpec, 'clients' | 'url'> {
  /** Where clients connect, unless a client names its own. */
  readonly url: string;
  readonly clients: ClientSpec[];
  readonly processes: number;
  readonly seconds: number;
  /** The server's processes (CPU counts everything below them too). */
  readonly serverPids: () => number[];
  /** The postmaster of the benchmark's cluster, or null when its processes cannot be seen. */
  readonly postgresPid: number | null;
  /** Further readings taken at the measured window's start and end (after connecting, before closing). */
  readonly window?: { begin(): void | Promise<void>; end(): void | Promise<void> };
}

export interface DriveResult {
  readonly acked: number;
  readonly sentPerSecond: number;
  readonly ackedPerSecond: number;
  readonly deliveriesPerSecond: number;
  /** `receiveMessage` frames at a member other than the sender. */
  readonly received: number;
  readonly ack: ReturnType<typeof percentiles>;
  readonly e2e: ReturnType<typeof percentiles>;
  readonly errors: number;
  readonly errorCodes: Record<string, number>;
  readonly connected: number;
  readonly failedConnections: number;
  /** Server CPU, in cores (CPU seconds per wall second). */
  readonly serverCores: number;
  readonly serverCpuSeconds: number;
  /** CPU of every process of the PostgreSQL cluster over the same window; NaN when not visible. */
  readonly postgresCpuSeconds: number;
  readonly serverUsPerAck: number;
  readonly postgresUsPerAck: number;
  readonly serverUsPerDelivery: number;
  readonly serverPeakRssMB: number;
  /** The busiest load-generator process, in cores. */
  readonly loadGenMaxCores: number;
  /**
   * Cores busy on the machine with anything but the server, PostgreSQL and the
   * load generators (other work sharing the machine, steal): when it differs
   * much between the floor's run and another, their ratio is suspect.
   */
  readonly otherCores: number;
  readonly loadGenBottleneck: boolean;
  readonly seconds: number;
}

type Msg = { type: string; report?: WorkerReport; connected?: number; failed?: number };

const forkWorker = (): ChildProcess => fork(workerEntry, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
const next = (w: ChildProcess, type: string) =>
  new Promise<Msg>((resolve, reject) => {
    const onMessage = (m: Msg) => m.type === type && (w.off('message', onMessage), w.off('exit', onExit), resolve(m));
    const onExit = (code: number | null) => reject(new Error(`a load generator exited (${code}) while waiting for '${type}'`));
    w.on('message', onMessage);
    w.once('exit', onExit);
  });

async function closeWorkers(workers: ChildProcess[], graceMs: number): Promise<void> {
  for (const w of workers) if (w.connected) w.send({ type: 'close' });
  await new Promise((r) => setTimeout(r, graceMs));
  for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
}

const split = (clients: ClientSpec[], n: number): ClientSpec[][] => {
  const groups: ClientSpec[][] = Array.from({ length: n }, () => []);
  clients.forEach((c, i) => groups[i % n]!.push(c));
  return groups;
};

/** Splits the clients over load-generator processes, runs them for `seconds`, and merges what they saw. */
export async function drive(spec: DriveSpec): Promise<DriveResult> {
  const groups = split(spec.clients, spec.processes);
  const workers = groups.map(forkWorker);
  try {
    await Promise.all(
      workers.map((w, i) => {
        const ready = next(w, 'connected');
        w.send({ type: 'connect', spec: { ...spec, serverPids: undefined, window: undefined, clients: groups[i] } });
        return ready;
      }),
    );
    const server = new CpuMeter(spec.serverPids);
    const postgres = spec.postgresPid === null ? null : new CpuMeter(() => [spec.postgresPid!]);
    const rss = new PeakRss(spec.serverPids);
    await spec.window?.begin();
    const started = performance.now();
    const machineBefore = machineBusySeconds();
    server.begin();
    postgres?.begin();
    rss.begin();
    for (const w of workers) w.send({ type: 'go' });
    await new Promise((r) => setTimeout(r, spec.seconds * 1000));
    const reports = await Promise.all(
      workers.map((w) => {
        const done = next(w, 'report');
        w.send({ type: 'stop' });
        return done.then((m) => m.report!);
      }),
    );
    const wall = (performance.now() - started) / 1000;
    const serverCpu = server.end();
    const postgresCpu = postgres ? postgres.end() : NaN;
    const peak = rss.end();
    const machine = machineBusySeconds() - machineBefore;
    await spec.window?.end();
    const sum = (f: (r: WorkerReport) => number) => reports.reduce((s, r) => s + f(r), 0);
    const errorCodes: Record<string, number> = {};
    for (const r of reports) for (const [k, v] of Object.entries(r.errorCodes)) errorCodes[k] = (errorCodes[k] ?? 0) + v;
    const loadGenMaxCores = Math.max(...reports.map((r) => r.cpuSeconds / r.wallSeconds));
    const acked = sum((r) => r.acked);
    const deliveries = sum((r) => r.deliveries);
    return {
      acked,
      sentPerSecond: sum((r) => r.sent) / wall,
      ackedPerSecond: acked / wall,
      deliveriesPerSecond: deliveries / wall,
      received: sum((r) => r.received),
      ack: percentiles(reports.flatMap((r) => r.ack)),
      e2e: percentiles(reports.flatMap((r) => r.e2e)),
      errors: sum((r) => r.errors),
      errorCodes,
      connected: sum((r) => r.connected),
      failedConnections: sum((r) => r.failedConnections),
      serverCores: serverCpu / wall,
      serverCpuSeconds: serverCpu,
      postgresCpuSeconds: postgresCpu,
      serverUsPerAck: (serverCpu * 1e6) / Math.max(1, acked),
      postgresUsPerAck: (postgresCpu * 1e6) / Math.max(1, acked),
      serverUsPerDelivery: (serverCpu * 1e6) / Math.max(1, deliveries),
      serverPeakRssMB: peak / 1024 / 1024,
      loadGenMaxCores,
      loadGenBottleneck: loadGenMaxCores > 0.9,
      otherCores: (machine - serverCpu - (Number.isNaN(postgresCpu) ? 0 : postgresCpu) - sum((r) => r.cpuSeconds)) / wall,
      seconds: wall,
    };
  } finally {
    await closeWorkers(workers, 300);
  }
}

/**
 * Load-generator processes that open idle connections in steps and hold them,
 * for memory measurements: `add` connects more (spread over the processes),
 * `close` drops them all.
 */
export class ClientFleet {
  private readonly workers: ChildProcess[];
  private connected = 0;
  private failed = 0;

  constructor(
    private readonly base: Omit<WorkerSpec, 'clients'>,
    processes: number,
  ) {
    this.workers = Array.from({ length: processes }, forkWorker);
  }

  /** Connects `clients` and resolves with the totals held so far. */
  async add(clients: ClientSpec[]): Promise<{ connected: number; failed: number }> {
    const groups = split(clients, this.workers.length);
    const counts = await Promise.all(
      this.workers.map((w, i) => {
        const ready = next(w, 'connected');
        w.send({ type: 'connect', spec: { ...this.base, clients: groups[i] } });
        return ready;
      }),
    );
    // Each worker answers with its running totals.
    this.connected = counts.reduce((s, m) => s + (m.connected ?? 0), 0);
    this.failed = counts.reduce((s, m) => s + (m.failed ?? 0), 0);
    return { connected: this.connected, failed: this.failed };
  }

  close(): Promise<void> {
    return closeWorkers(this.workers, 500);
  }
}
