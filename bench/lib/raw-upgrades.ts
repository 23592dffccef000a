import net from 'node:net';
import { now } from './stats.js';

export interface UpgradeTally {
  ok: number;
  status503: number;
  otherStatus: Record<string, number>;
  networkErrors: Record<string, number>;
  startedAt: number;
  lastAt: number;
  cpuSeconds: number;
}

export interface RawUpgradeSpec {
  /** ws://host:port/path */
  readonly url: string;
  /** One query string per upgrade, in order. */
  readonly queries: readonly string[];
  /** Upgrades in flight at once. */
  readonly inFlight: number;
  readonly localAddresses: readonly string[];
}

/**
 * The raw upgrade rate: a bare handshake on a TCP socket (request line and
 * headers out, status line and headers in), not a full WebSocket client, so
 * that on a machine the clients share with the server they cost as little of
 * it as they can. A 101 socket is held and whatever it receives is discarded.
 */
export function rawUpgrades(r: RawUpgradeSpec, held: net.Socket[]): Promise<UpgradeTally> {
  const tally: UpgradeTally = { ok: 0, status503: 0, otherStatus: {}, networkErrors: {}, startedAt: now(), lastAt: 0, cpuSeconds: 0 };
  const cpu = process.cpuUsage();
  const target = new URL(r.url);
  const host = target.hostname;
  const port = Number(target.port);
  const head = (query: string) =>
    `GET ${target.pathname}?${query} HTTP/1.1\r\nHost: ${target.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';
  const queue = r.queries.map((query, i) => ({ query, i, tries: 0 }));
  const once = (item: (typeof queue)[number]) =>
    new Promise<void>((resolve) => {
      const localAddress = r.localAddresses[item.i % r.localAddresses.length];
      const socket = net.connect({ host, port, ...(localAddress ? { localAddress } : {}) }, () => socket.write(head(item.query)));
      socket.setNoDelay(true);
      socket.setTimeout(15_000);
      let received = '';
      let done = false;
      const finish = (retry: boolean) => {
        if (done) return;
        done = true;
        if (retry && ++item.tries < 3) queue.push(item);
        resolve();
      };
      const failed = (cause: string) => {
        if (done) return;
        tally.networkErrors[cause] = (tally.networkErrors[cause] ?? 0) + 1;
        socket.resetAndDestroy();
        finish(false);
      };
      socket.on('data', (chunk) => {
        if (done) return;
        received += chunk.toString('latin1');
        if (!received.includes('\r\n\r\n')) return;
        const status = Number(received.slice(9, 12));
        if (status === 101) {
          tally.ok += 1;
          tally.lastAt = now();
          socket.setTimeout(0);
          held.push(socket);
          return finish(false);
        }
        if (status === 503) tally.status503 += 1;
        else tally.otherStatus[status] = (tally.otherStatus[status] ?? 0) + 1;
        socket.resetAndDestroy();
        finish(status === 503);
      });
      socket.on('timeout', () => failed('TIMEOUT'));
      socket.on('error', (error: NodeJS.ErrnoException) => failed(error.code ?? error.message.slice(0, 40)));
      socket.on('close', () => failed('CLOSED_BEFORE_ANSWER'));
    });
  return Promise.all(
    Array.from({ length: Math.max(1, r.inFlight) }, async () => {
      for (let item = queue.shift(); item; item = queue.shift()) await once(item);
    }),
  ).then(() => {
    const used = process.cpuUsage(cpu);
    tally.cpuSeconds = (used.user + used.system) / 1e6;
    return tally;
  });
}
