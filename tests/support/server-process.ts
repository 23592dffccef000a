import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { testTransport } from './transport.js';

const root = path.resolve(import.meta.dirname, '../..');
export const mainEntry = path.join(root, 'src/bootstrap/main.ts');

export interface ServerProcess {
  readonly child: ChildProcess;
  /** The port it listens on, read from its start-up log (so PORT=0 works and no two tests race for a port). */
  readonly port: number;
  readonly exited: Promise<number | null>;
  output(): string;
  /** Resolves once the output contains `text` (counting from now if `fresh`). */
  waitFor(text: string | RegExp, timeoutMs?: number): Promise<void>;
}

export { freePort } from '../../bench/lib/ports.js';

const running: ChildProcess[] = [];

/** Kills whatever is still running (for afterAll). */
export function killAll(): void {
  for (const c of running) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}

/**
 * Starts the real entry point as its own process and waits until it listens (or `ready` appears).
 * A variable given as `undefined` is removed, so the process runs with its real default.
 */
/** Node's arguments before the entry point; `GC_ON_SIGNAL` adds a full collection on SIGUSR2 (bench/lib/gc-on-signal.ts). */
export const GC_ON_SIGNAL = ['--expose-gc', '--import', 'tsx', '--import', path.join(root, 'bench/lib/gc-on-signal.ts')];

export async function startProcess(
  env: Record<string, string | undefined>,
  ready: string | RegExp = '"listening on',
  nodeArgs: readonly string[] = ['--import', 'tsx'],
): Promise<ServerProcess> {
  const merged: Record<string, string | undefined> = {
    ...process.env,
    NODE_ENV: 'test',
    LOG_LEVEL: 'info',
    DATABASE_URL: '',
    TRANSPORT: testTransport(),
    RATE_LIMITS: 'off',
    METRICS_PORT: '0',
    ...env,
  };
  for (const [name, value] of Object.entries(merged)) if (value === undefined) delete merged[name];
  const child = spawn(process.execPath, [...nodeArgs, mainEntry], {
    cwd: root,
    env: merged,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.push(child);
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const waitFor = (text: string | RegExp, timeoutMs = 30_000) =>
    new Promise<void>((resolve, reject) => {
      const started = Date.now();
      const timer = setInterval(() => {
        const found = typeof text === 'string' ? output.includes(text) : text.test(output);
        if (found) return (clearInterval(timer), resolve());
        if (child.exitCode !== null) return (clearInterval(timer), reject(new Error(`exited ${child.exitCode}: ${output.slice(-2000)}`)));
        if (Date.now() - started > timeoutMs) return (clearInterval(timer), reject(new Error(`timed out waiting for ${text}: ${output.slice(-2000)}`)));
      }, 25);
    });
  await waitFor(ready);
  const listening = /"port":(\d+)[^\n]*"msg":"listening on/.exec(output);
  return { child, exited, port: listening ? Number(listening[1]) : Number(env.PORT ?? 0), output: () => output, waitFor };
}

/** A strong JWT secret for servers under test (weak ones are refused at start-up), known to tests that sign tokens. */
export const TEST_JWT_SECRET = 'n3_DBB96jV-2JSY15h62RcMDlTZslZzdXau5myEsiFPqkUFu';

/** What a server process under test runs with (its database aside). */
export const PROCESS_TEST_ENV: Readonly<Record<string, string>> = {
  HOST: '127.0.0.1',
  PORT: '0',
  JWT_SECRET: TEST_JWT_SECRET,
  PASSWORD_HASH_MEMORY_KIB: '1024',
  PASSWORD_HASH_TIME_COST: '1',
  RATE_LIMIT_PER_SECOND: '0',
  // Tests register many users from one address; the tests of limits turn them back on.
  RATE_LIMITS: 'off',
};

/** The real server as its own process on a fresh database: the shape tests use for in-process servers. */
export async function startServerProcess(env: Record<string, string> = {}, nodeArgs?: readonly string[]) {
  const { freshDatabase } = await import('./database.js');
  const { HttpClient } = await import('./http-client.js');
  const proc = await startProcess({ ...PROCESS_TEST_ENV, DATABASE_URL: await freshDatabase('proc'), ...env }, undefined, nodeArgs);
  const port = proc.port;
  return {
    port,
    process: proc,
    http: new HttpClient(`http://127.0.0.1:${port}`),
    wsUrl: `ws://127.0.0.1:${port}/ws`,
    stop: async () => {
      proc.child.kill('SIGTERM');
      await proc.exited;
    },
  };
}
