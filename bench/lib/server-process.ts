import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { GC_MARKER, type GcReport } from './gc-on-signal.js';
import { BENCH_SECRET } from './seed.js';

const root = path.resolve(import.meta.dirname, '../..');

export interface BenchServer {
  readonly child: ChildProcess;
  /** The process tree's roots, for CPU; for WORKERS=N, the supervisor and its workers. */
  readonly pids: () => number[];
  readonly output: () => string;
  /** A full collection in the first process (see gc-on-signal.ts), and what it left. */
  collectGarbage(): Promise<GcReport>;
  stop(): Promise<void>;
}

/** Every process group this harness started and has not yet seen exit. */
const live = new Set<ChildProcess>();
let closed = false;

/**
 * Last resort (a failed run, Ctrl-C): SIGKILL every process group still
 * running, and refuse to start any more (the interrupted scenario may still be
 * on its way to its next server).
 */
export function killAllServers(): void {
  closed = true;
  for (const child of live) {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  live.clear();
}

/**
 * Spawns `args` under Node in its own process group (so a failed run can kill
 * whatever it forked) and waits until `ready` says it is listening.
 */
async function launch(
  args: string[],
  env: NodeJS.ProcessEnv,
  ready: (output: string) => boolean,
  extraPids: (output: string) => number[],
): Promise<BenchServer> {
  // BENCH_CPU_PROF=<dir> writes a V8 CPU profile of each server process (see docs/BENCHMARKS.md).
  const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  const gcHook = ['--expose-gc', '--import', 'tsx', '--import', path.join(root, 'bench/lib/gc-on-signal.ts')];
  if (closed) throw new Error('the benchmark is stopping: no more servers');
  const child = spawn(process.execPath, [...profile, ...gcHook, ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  live.add(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => (live.delete(child), resolve())));
  let output = '';
  // BENCH_SERVER_LOG=<dir> keeps each server's output (logs, warnings) in <dir>/<pid>.log.
  const log = process.env.BENCH_SERVER_LOG ? createWriteStream(path.join(process.env.BENCH_SERVER_LOG, `${child.pid}.log`)) : null;
  child.stdout!.on('data', (d) => ((output += d), log?.write(d)));
  child.stderr!.on('data', (d) => ((output += d), log?.write(d)));
  child.once('exit', () => log?.end());
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }, 15_000);
    await exited;
    clearTimeout(timer);
  };
  try {
    await new Promise<void>((resolve, reject) => {
      const deadline = Date.now() + 60_000;
      const timer = setInterval(() => {
        if (ready(output)) return (clearInterval(timer), resolve());
        if (child.exitCode !== null || child.signalCode !== null) return (clearInterval(timer), reject(new Error(`server exited: ${output.slice(-2000)}`)));
        if (Date.now() > deadline) return (clearInterval(timer), reject(new Error(`server not listening after 60 s: ${output.slice(-2000)}`)));
      }, 20);
    });
  } catch (error) {
    await stop();
    throw error;
  }
  const pids = [child.pid!, ...extraPids(output)];
  const gcReports = () => output.split('\n').filter((l) => l.startsWith(GC_MARKER));
  const collectGarbage = async (): Promise<GcReport> => {
    const seen = gcReports().length;
    child.kill('SIGUSR2');
    for (let waited = 0; waited < 10_000; waited += 20) {
      const reports = gcReports();
      if (reports.length > seen) return JSON.parse(reports.at(-1)!.slice(GC_MARKER.length)) as GcReport;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error('the server did not report a garbage collection within 10 s');
  };
  return { child, pids: () => pids, output: () => output, collectGarbage, stop };
}

/** The real server, started as its own process exactly as `npm start` would, tuned for load. */
export function startServer(env: Record<string, string>): Promise<BenchServer> {
  const workers = Number(env.WORKERS ?? 1);
  return launch(
    [path.join(root, 'src/bootstrap/main.ts')],
    {
      ...process.env,
      NODE_ENV: 'production',
      LOG_LEVEL: 'info',
      JWT_SECRET: BENCH_SECRET,
      RATE_LIMIT_PER_SECOND: '0',
      // Load from a few loopback addresses: the per-address and per-user caps would refuse it.
      RATE_LIMITS: 'off',
      METRICS_PORT: '0',
      WS_MAX_IN_FLIGHT: '100000',
      WRITE_QUEUE_MAX: '1000000',
      WS_MAX_BACKPRESSURE_BYTES: String(64 * 1024 * 1024),
      MIGRATE_ON_START: 'false',
      HOST: '127.0.0.1',
      ...env,
    },
    (output) => (output.match(/"listening on/g) ?? []).length >= workers,
    (output) => [...output.matchAll(/"slot":\d+,"pid":(\d+),"msg":"worker started"/g)].map((m) => Number(m[1])),
  );
}

export interface FloorOptions {
  readonly databaseUrl: string;
  readonly port: number;
  /** Hold one cluster-wide advisory lock per batch, as the real server does. */
  readonly lock: boolean;
}

/** The bare floor server (bench/floor), run the same way as the real server (Node + tsx). */
export function startFloor(options: FloorOptions): Promise<BenchServer> {
  return launch(
    [path.join(root, 'bench/floor/floor-server.ts')],
    { ...process.env, DATABASE_URL: options.databaseUrl, PORT: String(options.port), HOST: '127.0.0.1', FLOOR_LOCK: options.lock ? '1' : '0' },
    (output) => output.includes('floor listening on'),
    () => [],
  );
}
