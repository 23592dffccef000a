import { fork, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import type { StormFinal, StormPair, StormProgress, StormRecovery, StormRequest, StormStats } from '../storm-worker.js';
import type { UpgradeTally } from './raw-upgrades.js';

const entry = path.resolve(import.meta.dirname, '../storm-worker.ts');

/** Every fleet not yet closed, so an interrupted run can stop their processes. */
const live = new Set<StormFleet>();

export function killAllFleets(): void {
  for (const fleet of live) fleet.kill();
}

type Reply = { id: number; result?: unknown; error?: string };

/** Client processes of the storm scenario (bench/storm-worker.ts), asked in parallel. */
export class StormFleet {
  private readonly workers: ChildProcess[];
  private readonly ready: Promise<unknown>;
  private seq = 0;

  /**
   * `nice`: the client processes' scheduling priority (0-19). The clients
   * share two cores with the server they measure; niced, they use what the
   * server and PostgreSQL leave, as clients on their own machines would,
   * instead of taking a fair share away from them.
   */
  constructor(processes: number, nice = 0) {
    // BENCH_CLIENT_CPU_PROF=<dir> writes a V8 CPU profile of each client process, as BENCH_CPU_PROF does of the servers.
    const dir = process.env.BENCH_CLIENT_CPU_PROF;
    const profile = dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [];
    this.workers = Array.from({ length: processes }, () =>
      fork(entry, [], { execArgv: [...profile, '--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }),
    );
    for (const w of this.workers) if (nice > 0) os.setPriority(w.pid!, nice);
    live.add(this);
    this.ready = Promise.all(
      this.workers.map(
        (w) =>
          new Promise<void>((resolve, reject) => {
            w.once('message', () => resolve());
            w.once('exit', (code) => reject(new Error(`a storm client process exited (${code}) while starting`)));
          }),
      ),
    );
    this.ready.catch(() => undefined); // reported to whoever asks next
  }

  get size(): number {
    return this.workers.length;
  }

  get pids(): number[] {
    return this.workers.map((w) => w.pid!);
  }

  /** One request to worker `i`. */
  async ask<T>(i: number, request: StormRequest): Promise<T> {
    await this.ready;
    const w = this.workers[i]!;
    const id = ++this.seq;
    return new Promise<T>((resolve, reject) => {
      const onMessage = (m: Reply) => {
        if (m.id !== id) return;
        w.off('message', onMessage);
        w.off('exit', onExit);
        if (m.error) reject(new Error(m.error));
        else resolve(m.result as T);
      };
      const onExit = (code: number | null) => reject(new Error(`a storm client process exited (${code}) while answering '${request.type}'`));
      w.on('message', onMessage);
      w.once('exit', onExit);
      w.send({ id, request });
    });
  }

  /** The same request to every worker (or one request each, from `each`). */
  all<T>(request: StormRequest | ((i: number) => StormRequest)): Promise<T[]> {
    return Promise.all(this.workers.map((_, i) => this.ask<T>(i, typeof request === 'function' ? request(i) : request)));
  }

  upgrades(url: string, queries: string[][], inFlight: number, localAddresses: string[]): Promise<UpgradeTally[]> {
    const per = Math.max(1, Math.round(inFlight / this.size));
    return this.all((i) => ({ type: 'upgrades', url, queries: queries[i]!, inFlight: per, localAddresses }));
  }

  connect(url: string, pairs: StormPair[][], localAddresses: string[], concurrency: number): Promise<Array<{ connected: number }>> {
    return this.all((i) => ({ type: 'connect', url, pairs: pairs[i]!, localAddresses, concurrency }));
  }

  stats(): Promise<StormStats[]> {
    return this.all({ type: 'stats' });
  }

  progress(since: number, settledBeforeMs: number): Promise<StormProgress[]> {
    return this.all({ type: 'progress', since, settledBeforeMs });
  }

  recovery(since: number): Promise<StormRecovery[]> {
    return this.all({ type: 'recovery', since });
  }

  deliveredBy(cutoff: number): Promise<Array<{ lastReceivedAt: number; missing: number }>> {
    return this.all({ type: 'deliveredBy', cutoff });
  }

  final(): Promise<StormFinal[]> {
    return this.all({ type: 'final' });
  }

  /** Closes every socket and ends the processes (SIGKILL for any still there after a grace). */
  async close(): Promise<void> {
    for (const w of this.workers) if (w.connected) w.send({ type: 'close' });
    await Promise.all(
      this.workers.map(
        (w) =>
          new Promise<void>((resolve) => {
            if (w.exitCode !== null || w.signalCode !== null) return resolve();
            const timer = setTimeout(() => w.kill('SIGKILL'), 5_000);
            w.once('exit', () => (clearTimeout(timer), resolve()));
          }),
      ),
    );
    live.delete(this);
  }

  kill(): void {
    for (const w of this.workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
    live.delete(this);
  }
}

/** `items` dealt round robin into `n` groups. */
export function deal<T>(items: readonly T[], n: number): T[][] {
  const groups: T[][] = Array.from({ length: n }, () => []);
  items.forEach((item, i) => groups[i % n]!.push(item));
  return groups;
}
