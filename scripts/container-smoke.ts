/**
 * Runs the Dockerfile's commands outside a container, in a temporary copy of
 * what it copies: `npm ci`, `npm run build`, the prune to production
 * dependencies; then starts the compiled server from the files the runtime
 * stage keeps, waits for its HEALTHCHECK to pass (/readyz 200), stops it with
 * its STOPSIGNAL (SIGTERM) and checks a clean exit. `npm run smoke:container`;
 * `.ci/run` runs it. tests/unit/container.test.ts keeps every list below equal
 * to the Dockerfile, so the image builds and starts with commands proven here.
 *
 * The server runs on the embedded PostgreSQL in the copy's data folder, so a
 * fresh database proves the build found its compiled migrations. Everything
 * it starts is stopped and the folder removed, on failure and on Ctrl-C too.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The build stage's `COPY` sources, from the build context. */
export const BUILD_CONTEXT = ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'src', 'migrations'];
/** The build stage's `RUN` lines, in order (run with `sh -c`, as Docker runs the shell form). */
export const BUILD_COMMANDS = ['npm ci --no-audit --no-fund', 'npm run build', 'npm prune --omit=dev --no-audit --no-fund', 'mkdir -p data'];
/** What the runtime stage copies from the build stage (`data`: the DATA_DIR volume's mount point, owned by its user). */
export const RUNTIME_FROM_BUILD = ['package.json', 'node_modules', 'dist', 'data'];
/** What the runtime stage copies from the build context: the browser app, bundled at start-up. */
export const RUNTIME_FROM_CONTEXT = ['client'];
/** The runtime stage's `ENV`. */
export const RUNTIME_ENV: Readonly<Record<string, string>> = { NODE_ENV: 'production', HOST: '0.0.0.0', PORT: '8001', DATA_DIR: '/data' };
/** `CMD`, exec form: `npm run start:dist` without npm in between, so the server itself gets SIGTERM. */
export const START_COMMAND = ['node', 'dist/src/bootstrap/main.js'];
/** `HEALTHCHECK CMD`, exec form: the image has no curl; Node's fetch asks /readyz. */
export const HEALTHCHECK_COMMAND = [
  'node',
  '-e',
  "fetch('http://127.0.0.1:' + (process.env.PORT || 8001) + '/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))",
];
/** `HEALTHCHECK --start-period`: how long a start may take before a failing check counts. */
export const START_PERIOD_SECONDS = 60;

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function log(message: string): void {
  process.stdout.write(`\n== ${message}\n`);
}

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });

async function main(): Promise<void> {
  const work = mkdtempSync(path.join(os.tmpdir(), 'chat-container-smoke-'));
  // The embedded PostgreSQL runs as another user when this runs as root: it must reach its folder.
  chmodSync(work, 0o711);
  let server: ChildProcess | null = null;
  const cleanUp = () => {
    if (server && server.exitCode === null && server.signalCode === null) server.kill('SIGKILL');
    const pidFile = path.join(work, 'app', 'data', 'postgres', 'postmaster.pid');
    if (existsSync(pidFile)) {
      const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
      try {
        if (pid > 0) process.kill(pid, 'SIGQUIT');
      } catch {
        // already gone
      }
    }
    rmSync(work, { recursive: true, force: true });
  };
  process.once('SIGINT', () => (cleanUp(), process.exit(130)));
  try {
    const build = path.join(work, 'build');
    log(`build stage in ${build}: ${BUILD_CONTEXT.join(' ')}`);
    for (const item of BUILD_CONTEXT) cpSync(path.join(repo, item), path.join(build, item), { recursive: true });
    for (const command of BUILD_COMMANDS) {
      log(`RUN ${command}`);
      const ran = spawnSync('sh', ['-c', command], { cwd: build, stdio: 'inherit' });
      if (ran.status !== 0) throw new Error(`"${command}" failed (${ran.status ?? ran.signal})`);
    }

    const app = path.join(work, 'app');
    log(`runtime stage in ${app}: ${[...RUNTIME_FROM_BUILD, ...RUNTIME_FROM_CONTEXT].join(' ')}`);
    mkdirSync(app);
    for (const item of RUNTIME_FROM_BUILD) cpSync(path.join(build, item), path.join(app, item), { recursive: true, verbatimSymlinks: true });
    for (const item of RUNTIME_FROM_CONTEXT) cpSync(path.join(repo, item), path.join(app, item), { recursive: true });
    // Checked here because the image has only what the prune left.
    for (const dev of ['vitest', 'typescript', 'eslint']) {
      if (existsSync(path.join(app, 'node_modules', dev))) throw new Error(`node_modules still holds the devDependency ${dev}`);
    }

    // Outside a container: a free port on loopback and the copy's data folder instead of /data.
    const port = String(await freePort());
    const env = {
      ...process.env,
      ...RUNTIME_ENV,
      HOST: '127.0.0.1',
      PORT: port,
      DATA_DIR: path.join(app, 'data'),
      JWT_SECRET: randomBytes(32).toString('base64'),
      DATABASE_URL: '',
      DB_HOST: '',
      METRICS_PORT: '0',
    };
    log(`CMD ${START_COMMAND.join(' ')} (PORT=${port})`);
    let output = '';
    const started = spawn(START_COMMAND[0]!, START_COMMAND.slice(1), { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'] });
    server = started;
    started.stdout!.on('data', (d: Buffer) => (process.stdout.write(d), (output += d)));
    started.stderr!.on('data', (d: Buffer) => (process.stderr.write(d), (output += d)));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      started.once('exit', (code, signal) => resolve({ code, signal })),
    );

    log(`HEALTHCHECK until it passes (at most ${START_PERIOD_SECONDS} s)`);
    const deadline = Date.now() + START_PERIOD_SECONDS * 1000;
    for (;;) {
      if (started.exitCode !== null) throw new Error(`the server exited (${started.exitCode}) before its health check passed`);
      if (spawnSync(HEALTHCHECK_COMMAND[0]!, HEALTHCHECK_COMMAND.slice(1), { cwd: app, env }).status === 0) break;
      if (Date.now() > deadline) throw new Error('the health check did not pass within the start period');
      await new Promise((r) => setTimeout(r, 500));
    }
    if (!output.includes('"msg":"migrations applied"')) throw new Error('the compiled server did not apply the compiled migrations');
    const page = await fetch(`http://127.0.0.1:${port}/`);
    if (page.status !== 200) throw new Error(`GET / (the browser app, from client/) answered ${page.status}`);

    log('STOPSIGNAL SIGTERM');
    started.kill('SIGTERM');
    const exit = await exited;
    if (exit.code !== 0) throw new Error(`the server exited with ${exit.code ?? exit.signal} after SIGTERM`);
    log('container commands: built, started, healthy, stopped cleanly');
  } finally {
    cleanUp();
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    process.stderr.write(`\ncontainer smoke failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
