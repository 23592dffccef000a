import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { ClientSpec, WorkerReport, WorkerSpec } from '../load-worker.js';
import { ProcessSampler } from './process-stats.js';
import { percentiles } from './stats.js';

const workerEntry = path.resolve(import.meta.dirname, '../load-worker.ts');

export interface DriveSpec extends Omit<WorkerSpec, 'clients' | 'url'> {
  /** Where clients connect, unless a client names its own. */
  readonly url: string;
  readonly clients: ClientSpec[];
  readonly processes: number;
  readonly seconds: number;
  readonly serverPids: () => number[];
}

export interface DriveResult {
  readonly sentPerSecond: number;
  readonly ackedPerSecond: number;
  readonly deliveriesPerSecond: number;
  readonly ack: ReturnType<typeof percentiles>;
  readonly e2e: ReturnType<typeof percentiles>;
  readonly errors: number;
  readonly errorCodes: Record<string, number>;
  readonly connected: number;
  readonly failedConnections: number;
  /** Server CPU, in cores (CPU seconds per wall second). */
  readonly serverCores: number;
  readonly serverPeakRssMB: number;
  /** The busiest load-generator process, in cores. */
  readonly loadGenMaxCores: number;
  readonly loadGenBottleneck: boolean;
  readonly seconds: number;
}

type Msg = { type: string; report?: WorkerReport; connected?: number; failed?: number };

/** Splits the clients over load-generator processes, runs them for `seconds`, and merges what they saw. */
export async function drive(spec: DriveSpec): Promise<DriveResult> {
  const groups: ClientSpec[][] = Array.from({ length: spec.processes }, () => []);
  spec.clients.forEach((c, i) => groups[i % spec.processes]!.push(c));
  const workers: ChildProcess[] = groups.map(() => fork(workerEntry, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  const next = (w: ChildProcess, type: string) => new Promise<Msg>((resolve) => w.once('message', (m: Msg) => m.type === type && resolve(m)));
  try {
    await Promise.all(
      workers.map((w, i) => {
        const ready = next(w, 'connected');
        w.send({ type: 'connect', spec: { ...spec, clients: groups[i] } });
        return ready;
      }),
    );
    const sampler = new ProcessSampler(spec.serverPids);
    const started = performance.now();
    sampler.begin();
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
    const serverCpu = sampler.end();
    const sum = (f: (r: WorkerReport) => number) => reports.reduce((s, r) => s + f(r), 0);
    const errorCodes: Record<string, number> = {};
    for (const r of reports) for (const [k, v] of Object.entries(r.errorCodes)) errorCodes[k] = (errorCodes[k] ?? 0) + v;
    const loadGenMaxCores = Math.max(...reports.map((r) => r.cpuSeconds / r.wallSeconds));
    return {
      sentPerSecond: sum((r) => r.sent) / wall,
      ackedPerSecond: sum((r) => r.acked) / wall,
      deliveriesPerSecond: sum((r) => r.deliveries) / wall,
      ack: percentiles(reports.flatMap((r) => r.ack)),
      e2e: percentiles(reports.flatMap((r) => r.e2e)),
      errors: sum((r) => r.errors),
      errorCodes,
      connected: sum((r) => r.connected),
      failedConnections: sum((r) => r.failedConnections),
      serverCores: serverCpu / wall,
      serverPeakRssMB: sampler.peakRssBytes / 1024 / 1024,
      loadGenMaxCores,
      loadGenBottleneck: loadGenMaxCores > 0.9,
      seconds: wall,
    };
  } finally {
    for (const w of workers) w.send({ type: 'close' });
    await new Promise((r) => setTimeout(r, 300));
    for (const w of workers) if (w.exitCode === null) w.kill('SIGKILL');
  }
}

/** Connects clients and holds them (idle scenario); resolves with the count and a release function. */
export async function hold(spec: Omit<DriveSpec, 'seconds' | 'serverPids'>): Promise<{ connected: number; failed: number; release: () => Promise<void> }> {
  const groups: ClientSpec[][] = Array.from({ length: spec.processes }, () => []);
  spec.clients.forEach((c, i) => groups[i % spec.processes]!.push(c));
  const workers = groups.map(() => fork(workerEntry, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  const counts = await Promise.all(
    workers.map((w, i) => {
      const ready = new Promise<Msg>((resolve) => w.once('message', resolve));
      w.send({ type: 'connect', spec: { ...spec, clients: groups[i] } });
      return ready;
    }),
  );
  return {
    connected: counts.reduce((s, m) => s + (m.connected ?? 0), 0),
    failed: counts.reduce((s, m) => s + (m.failed ?? 0), 0),
    release: async () => {
      for (const w of workers) w.send({ type: 'close' });
      await new Promise((r) => setTimeout(r, 500));
      for (const w of workers) if (w.exitCode === null) w.kill('SIGKILL');
    },
  };
}
