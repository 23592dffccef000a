import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from '../../src/application/ports/services.js';
import type { BrokerInbound } from '../../src/adapters/fanout/engine/broker.js';
import { freePort } from './server-process.js';

/**
 * Real NATS and Redis servers for tests, each on a free loopback port:
 * Debian's `nats-server` and `redis-server` (installed by .ci/run). Readiness
 * is a connection that gets the server's greeting or reply, never a sleep.
 * Call `stopBrokerServers()` in `afterAll`; a process exit kills what is left.
 */

export interface BrokerServer {
  /** Client URL, with the credentials when the server requires them. */
  readonly url: string;
  readonly port: number;
  /** SIGTERM, waits for the exit. */
  stop(): Promise<void>;
  /** SIGKILL, waits for the exit: the broker vanishes without a goodbye. */
  kill(): Promise<void>;
  /** Starts it again on the same port, with the same configuration, and waits until it answers. */
  restart(): Promise<void>;
  /** SIGSTOP: connections stay open and nothing is answered. */
  pause(): Promise<void>;
  /** SIGCONT. */
  resume(): Promise<void>;
}

export interface NatsCluster {
  readonly nodes: readonly BrokerServer[];
  /** Every node's client URL, comma-separated. */
  readonly url: string;
  /** Each node's monitoring endpoint (`/connz`, `/routez`), in node order. */
  readonly monitors: readonly string[];
  stop(): Promise<void>;
}

interface Managed {
  child: ChildProcess | null;
  dir: string;
}

const managed = new Set<Managed>();
// Debian installs nats-server in /usr/sbin, which is not on a non-root user's PATH.
const NATS_BIN = process.env.NATS_SERVER_BIN ?? (existsSync('/usr/sbin/nats-server') ? '/usr/sbin/nats-server' : 'nats-server');
const REDIS_BIN = process.env.REDIS_SERVER_BIN ?? 'redis-server';

process.on('exit', () => {
  for (const m of managed) m.child?.kill('SIGKILL');
  for (const m of managed) rmSync(m.dir, { recursive: true, force: true });
});

/** Stops every server this module started and removes their folders. */
export async function stopBrokerServers(): Promise<void> {
  await Promise.all([...managed].map((m) => terminate(m, 'SIGKILL')));
  for (const m of managed) rmSync(m.dir, { recursive: true, force: true });
  managed.clear();
}

export interface NatsOptions {
  readonly user?: string;
  readonly password?: string;
  /** @default a free port */
  readonly port?: number;
}

/** One nats-server; its payload limit is raised to 2 MiB, so tests can send payloads the adapter must reject. */
export async function startNats(options: NatsOptions = {}): Promise<BrokerServer> {
  const port = options.port ?? (await freePort());
  const auth = options.user ? `authorization { user: ${JSON.stringify(options.user)}, password: ${JSON.stringify(options.password ?? '')} }\n` : '';
  const credentials = options.user ? `${encodeURIComponent(options.user)}:${encodeURIComponent(options.password ?? '')}@` : '';
  return natsNode(port, `listen: "127.0.0.1:${port}"\nmax_payload: 2097152\n${auth}`, `nats://${credentials}127.0.0.1:${port}`);
}

/** `size` nats-server processes joined by routes, each with its own client port; resolves once every node routes to every other. */
export async function startNatsCluster(size = 3): Promise<NatsCluster> {
  const free = await distinctFreePorts(size * 3);
  const ports = Array.from({ length: size }, (_, i) => ({ client: free[3 * i]!, route: free[3 * i + 1]!, monitor: free[3 * i + 2]! }));
  const routes = ports.map((p) => `"nats-route://127.0.0.1:${p.route}"`).join(', ');
  // Started together, since each waits until it routes to all the others (on a restart too).
  const nodes = await Promise.all(
    ports.map((p, i) =>
      natsNode(
        p.client,
        `server_name: "n${i}"\nlisten: "127.0.0.1:${p.client}"\nhttp: "127.0.0.1:${p.monitor}"\n` +
          `cluster { name: "test", listen: "127.0.0.1:${p.route}", routes: [${routes}] }\n`,
        `nats://127.0.0.1:${p.client}`,
        () => waitForRoutes(p.monitor, size - 1),
      ),
    ),
  );
  return {
    nodes,
    url: nodes.map((n) => n.url).join(','),
    monitors: ports.map((p) => `http://127.0.0.1:${p.monitor}`),
    stop: async () => void (await Promise.all(nodes.map((n) => n.stop()))),
  };
}

export interface RedisOptions {
  /** An ACL user with every right; the default user is then turned off. */
  readonly user?: string;
  readonly password?: string;
  /** @default a free port */
  readonly port?: number;
}

export async function startRedis(options: RedisOptions = {}): Promise<BrokerServer> {
  const port = options.port ?? (await freePort());
  const dir = mkdtempSync(path.join(os.tmpdir(), 'redis-test-'));
  // ACL users go in a file: on the command line redis-server reads `--user "name on >pw"` as a name with spaces.
  const config = path.join(dir, 'redis.conf');
  writeFileSync(config, options.user ? `user ${options.user} on >${options.password ?? ''} ~* &* +@all\nuser default off\n` : '');
  const args = [config, '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir];
  const credentials = options.user ? `${encodeURIComponent(options.user)}:${encodeURIComponent(options.password ?? '')}@` : '';
  return serve({ dir, command: REDIS_BIN, args, port, url: `redis://${credentials}127.0.0.1:${port}/`, greeting: 'PING\r\n' });
}

async function natsNode(port: number, config: string, url: string, ready?: () => Promise<void>): Promise<BrokerServer> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nats-test-'));
  const file = path.join(dir, 'nats.conf');
  writeFileSync(file, config);
  return serve({ dir, command: NATS_BIN, args: ['-c', file], port, url, greeting: null, ready });
}

async function distinctFreePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

interface ServeSpec {
  readonly dir: string;
  readonly command: string;
  readonly args: string[];
  readonly port: number;
  readonly url: string;
  /** Sent on connect to get an answer (Redis); `null` when the server speaks first (NATS sends INFO). */
  readonly greeting: string | null;
  /** Further readiness, after the first answer (a cluster node's routes). */
  readonly ready?: () => Promise<void>;
}

async function serve(spec: ServeSpec): Promise<BrokerServer> {
  const m: Managed = { child: null, dir: spec.dir };
  managed.add(m);
  const launch = async () => {
    const child = spawn(spec.command, spec.args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    m.child = child;
    await waitForAnswer(spec.port, spec.greeting, child, () => output);
    await spec.ready?.();
  };
  await launch();
  return {
    url: spec.url,
    port: spec.port,
    stop: () => terminate(m, 'SIGTERM'),
    kill: () => terminate(m, 'SIGKILL'),
    restart: async () => {
      await terminate(m, 'SIGKILL');
      await launch();
    },
    pause: async () => void m.child?.kill('SIGSTOP'),
    resume: async () => void m.child?.kill('SIGCONT'),
  };
}

async function terminate(m: Managed, signal: NodeJS.Signals): Promise<void> {
  const child = m.child;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  child.kill('SIGCONT'); // a paused server acts on SIGTERM only once continued
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/** Connects until the server answers (any reply: `-NOAUTH` also proves it is serving). */
async function waitForAnswer(port: number, greeting: string | null, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${child.spawnfile} exited ${child.exitCode}: ${output()}`);
    if (await answers(port, greeting)) return;
    if (Date.now() > deadline) throw new Error(`${child.spawnfile} on port ${port} did not answer: ${output()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function answers(port: number, greeting: string | null): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const done = (ok: boolean) => (socket.destroy(), resolve(ok));
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => greeting && socket.write(greeting));
    socket.once('data', () => done(true));
  });
}

async function waitForRoutes(monitorPort: number, expected: number): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const body = await fetch(`http://127.0.0.1:${monitorPort}/routez`)
      .then((r) => r.json() as Promise<{ num_routes?: number }>)
      .catch(() => ({ num_routes: 0 }));
    if ((body.num_routes ?? 0) >= expected) return;
    if (Date.now() > deadline) throw new Error(`NATS node on monitor port ${monitorPort}: ${body.num_routes} routes, expected ${expected}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** What a broker reported to the engine, in order. */
export class RecordingInbound implements BrokerInbound {
  readonly messages: Array<{ topic: string; payload: string }> = [];
  readonly events: Array<'up' | 'down'> = [];
  readonly rejections: string[] = [];
  /** Runs inside `up`, before the broker does anything else. */
  onUp: (() => void) | null = null;

  message(topic: string, payload: string): void {
    this.messages.push({ topic, payload });
  }
  down(): void {
    this.events.push('down');
  }
  up(): void {
    this.events.push('up');
    this.onUp?.();
  }
  rejected(reason: string): void {
    this.rejections.push(reason);
  }

  payloads(topic: string): string[] {
    return this.messages.filter((m) => m.topic === topic).map((m) => m.payload);
  }
}

/** A logger that keeps every line (bindings, fields and message as one JSON text), to search for what must never be logged. */
export function recordingLogger(lines: string[] = [], bindings: Record<string, unknown> = {}): Logger & { lines: string[] } {
  const record =
    (level: string) =>
    (objOrMsg: object | string, msg?: string): void => {
      lines.push(JSON.stringify(typeof objOrMsg === 'string' ? { level, ...bindings, msg: objOrMsg } : { level, ...bindings, ...objOrMsg, msg }));
    };
  return {
    lines,
    debug: record('debug'),
    info: record('info'),
    warn: record('warn'),
    error: record('error'),
    child: (more) => recordingLogger(lines, { ...bindings, ...more }),
  };
}
