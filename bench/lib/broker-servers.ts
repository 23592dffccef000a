import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './ports.js';

/**
 * A NATS or Redis server for the brokers scenario (Debian's `nats-server` and
 * `redis-server`), on free loopback ports, each in its own process group so a
 * failed or interrupted run kills it with `killAllBrokers()`. Readiness is an
 * answer from the server, never a sleep.
 */
export interface BrokerServer {
  readonly name: 'nats' | 'redis';
  /** What the server's NATS_URL / REDIS_URL is set to. */
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /**
   * Bytes the broker says it has sent to its clients so far, every
   * connection together: NATS's `/connz` `out_bytes` (summed over the open
   * connections), Redis's `INFO stats` `total_net_output_bytes`.
   */
  sentBytes(): Promise<number>;
  stop(): Promise<void>;
}

const NATS_BIN = process.env.NATS_SERVER_BIN ?? (existsSync('/usr/sbin/nats-server') ? '/usr/sbin/nats-server' : 'nats-server');
const REDIS_BIN = process.env.REDIS_SERVER_BIN ?? 'redis-server';

/** Every broker this run started and has not stopped, with its folder. */
const live = new Map<ChildProcess, string | null>();

/** Last resort (a failed run, Ctrl-C): SIGKILL every broker still running and remove its folder. */
export function killAllBrokers(): void {
  for (const [child, dir] of live) {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
  live.clear();
}

export async function startBroker(name: 'nats' | 'redis'): Promise<BrokerServer> {
  const port = await freePort();
  if (name === 'nats') {
    const monitor = await freePort();
    const server = await launch(NATS_BIN, ['-a', '127.0.0.1', '-p', String(port), '-m', String(monitor)], null, () => natsSent(monitor).then(() => true));
    return { name, url: `nats://127.0.0.1:${port}`, port, pid: server.pid, sentBytes: () => natsSent(monitor), stop: server.stop };
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-redis-'));
  const server = await launch(REDIS_BIN, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], dir, () =>
    redisCommand(port, 'PING').then((r) => r.startsWith('+PONG')),
  );
  const sentBytes = async () => Number(/total_net_output_bytes:(\d+)/.exec(await redisCommand(port, 'INFO stats'))?.[1] ?? NaN);
  return { name, url: `redis://127.0.0.1:${port}/`, port, pid: server.pid, sentBytes, stop: server.stop };
}

async function launch(command: string, args: string[], dir: string | null, ready: () => Promise<boolean>): Promise<{ pid: number; stop: () => Promise<void> }> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  live.set(child, dir);
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('error', (error) => (output += String(error)));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
    live.delete(child);
  };
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      await stop();
      throw new Error(`${command} exited: ${output.slice(-2000)}`);
    }
    if (await ready().catch(() => false)) return { pid: child.pid!, stop };
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${command} did not answer within 15 s: ${output.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function natsSent(monitor: number): Promise<number> {
  const response = await fetch(`http://127.0.0.1:${monitor}/connz?limit=10000`);
  const body = (await response.json()) as { connections?: Array<{ out_bytes: number }> };
  return (body.connections ?? []).reduce((s, c) => s + c.out_bytes, 0);
}

/** One inline command on a fresh connection; resolves with the whole reply. */
function redisCommand(port: number, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let reply = '';
    socket.setTimeout(2000, () => (socket.destroy(), reject(new Error('redis: no reply'))));
    socket.once('error', reject);
    socket.once('connect', () => socket.write(`${command}\r\n`));
    socket.on('data', (d) => {
      reply += d;
      // A bulk string ($<length>\r\n<body>\r\n) is whole once its body has arrived; anything else is one line.
      const bulk = /^\$(\d+)\r\n/.exec(reply);
      if (bulk ? Buffer.byteLength(reply) >= bulk[0].length + Number(bulk[1]) + 2 : reply.endsWith('\r\n')) {
        socket.end();
        resolve(reply);
      }
    });
  });
}
