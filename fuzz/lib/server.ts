import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from '../../src/adapters/postgres/embedded/embedded-postgres-server.js';
import type { Logger } from '../../src/application/ports/services.js';
import type { FuzzTarget } from './world.js';

const root = path.resolve(import.meta.dirname, '../..');
const noop = () => undefined;
const quiet: Logger = { debug: noop, info: noop, warn: noop, error: noop, child: () => quiet };

export const FUZZ_SECRET = 'fuzz-secret-fuzz-secret-fuzz-secret-0001';
export const FUZZ_ORIGIN = 'http://localhost:3000';

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });

/** Everything a CLI run starts, so one `close` stops it whatever happened. */
export class FuzzEnvironment {
  private dir: string | null = null;
  private db: EmbeddedPostgresHandle | null = null;
  private server: ChildProcess | null = null;
  private closing: Promise<void> | null = null;

  /** A fresh temp folder and an embedded PostgreSQL in it (or DATABASE_URL, if set). */
  async startDatabase(): Promise<string> {
    this.dir = mkdtempSync(path.join(os.tmpdir(), 'chat-fuzz-'));
    // PostgreSQL runs as another user when we are root: it must be able to reach its folder.
    chmodSync(this.dir, 0o711);
    let base = process.env.DATABASE_URL;
    if (!base) {
      this.db = await startEmbeddedPostgres({ dataDir: path.join(this.dir, 'pg'), logger: quiet });
      base = this.db.url;
    }
    const url = new URL(base);
    const name = `fuzz_${Date.now().toString(36)}_${process.pid}`;
    const admin = new pg.Client({ connectionString: url.toString() });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${name}`);
    } finally {
      await admin.end();
    }
    url.pathname = `/${name}`;
    return url.toString();
  }

  /** The real entry point as its own process (node itself, so its pid is the server's), on a free port. */
  async startServer(databaseUrl: string, transport: 'uws' | 'node'): Promise<FuzzTarget> {
    const port = await freePort();
    const dataDir = path.join(this.dir!, 'data');
    mkdirSync(dataDir, { recursive: true });
    const limits = { MAX_FRAME_BYTES: 65_536, MAX_BODY_BYTES: 65_536, MAX_CONTENT_LENGTH: 10_000 };
    // With a full collection on SIGUSR2 (bench/lib/gc-on-signal.ts), so the memory check compares what the server holds.
    const gcOnSignal = ['--expose-gc', '--import', 'tsx', '--import', path.join(root, 'bench/lib/gc-on-signal.ts')];
    const child = spawn(process.execPath, [...gcOnSignal, path.join(root, 'src/bootstrap/main.ts')], {
      cwd: root,
      env: {
        ...process.env,
        NODE_ENV: 'production',
        LOG_LEVEL: 'warn',
        HOST: '127.0.0.1',
        PORT: String(port),
        TRANSPORT: transport,
        DATABASE_URL: databaseUrl,
        DATA_DIR: dataDir,
        JWT_SECRET: FUZZ_SECRET,
        // The fuzz is about input handling, not the request limits or password hashing cost:
        // its set-up registers dozens of users from one address (tests/e2e/hardening.test.ts proves the limits).
        RATE_LIMIT_PER_SECOND: '0',
        RATE_LIMITS: 'off',
        PASSWORD_HASH_MEMORY_KIB: '1024',
        PASSWORD_HASH_TIME_COST: '1',
        CORS_ORIGINS: FUZZ_ORIGIN,
        MAX_FRAME_BYTES: String(limits.MAX_FRAME_BYTES),
        MAX_BODY_BYTES: String(limits.MAX_BODY_BYTES),
        MAX_CONTENT_LENGTH: String(limits.MAX_CONTENT_LENGTH),
        WORKERS: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.server = child;
    let output = '';
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    const alive = () => child.exitCode === null && child.signalCode === null;
    const base = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (!alive()) throw new Error(`the server exited during start-up:\n${output.slice(-3000)}`);
      if (Date.now() > deadline) throw new Error(`the server did not answer /healthz within 60 s:\n${output.slice(-3000)}`);
      const ok = await fetch(`${base}/healthz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    // The transport must be the one asked for, or the findings would describe another server.
    const ready = (await fetch(`${base}/readyz`).then((r) => r.json())) as { transport?: { name?: string; build?: string } };
    if (ready.transport?.name !== transport) throw new Error(`asked for TRANSPORT=${transport}, the server runs ${JSON.stringify(ready.transport)}`);
    return {
      host: '127.0.0.1',
      port,
      pid: child.pid!,
      collectGarbage: true,
      transport,
      maxFrameBytes: limits.MAX_FRAME_BYTES,
      maxBodyBytes: limits.MAX_BODY_BYTES,
      maxContentLength: limits.MAX_CONTENT_LENGTH,
      allowedOrigin: FUZZ_ORIGIN,
      jwtSecret: FUZZ_SECRET,
      alive,
      output: () => output,
      build: ready.transport.build ?? '',
    } as FuzzTarget & { build: string };
  }

  /** Stops the server, then the database, then removes the temp folder. Safe to call twice. */
  close(): Promise<void> {
    return (this.closing ??= (async () => {
      const child = this.server;
      if (child && child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(timer);
      }
      await this.db?.stop().catch(() => undefined);
      if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    })());
  }
}
