import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { BENCH_SECRET } from './seed.js';

const root = path.resolve(import.meta.dirname, '../..');

export interface BenchServer {
  readonly child: ChildProcess;
  readonly pids: () => number[];
  readonly output: () => string;
  stop(): Promise<void>;
}

/** The real server, started as its own process exactly as `npm start` would, tuned for load. */
export async function startServer(env: Record<string, string>): Promise<BenchServer> {
  // BENCH_CPU_PROF=<dir> writes a V8 CPU profile of each server process (see docs/BENCHMARKS.md).
  const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', path.join(root, 'src/bootstrap/main.ts')], {
    cwd: root,
    env: {
      ...process.env,
      NODE_ENV: 'production',
      LOG_LEVEL: 'info',
      JWT_SECRET: BENCH_SECRET,
      RATE_LIMIT_PER_SECOND: '0',
      WS_MAX_IN_FLIGHT: '100000',
      WRITE_QUEUE_MAX: '1000000',
      WS_MAX_BACKPRESSURE_BYTES: String(64 * 1024 * 1024),
      MIGRATE_ON_START: 'false',
      HOST: '127.0.0.1',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const workers = Number(env.WORKERS ?? 1);
  await new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => {
      const listening = (output.match(/"listening on/g) ?? []).length;
      if (listening >= workers || output.includes('Listening on')) return clearInterval(timer), resolve();
      if (child.exitCode !== null) return clearInterval(timer), reject(new Error(`server exited: ${output.slice(-2000)}`));
    }, 50);
  });
  const workerPids = [...output.matchAll(/"slot":\d+,"pid":(\d+),"msg":"worker started"/g)].map((m) => Number(m[1]));
  return {
    child,
    pids: () => [child.pid!, ...workerPids],
    output: () => output,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
