import net from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { killAll, startServerProcess } from '../support/server-process.js';
import { testTransport } from '../support/transport.js';
import { sleep } from '../support/ws-client.js';

const METRICS_TOKEN = 'metrics-token-metrics-token-0123';

afterAll(() => killAll());

/** Writes `data` on a fresh connection and resolves once it is on its way. */
const connectAndWrite = (port: number, data: string) =>
  new Promise<net.Socket>((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(data, () => resolve(socket)));
    socket.on('error', reject);
  });

/** The value of one series in the exposition text (0 when absent). */
const seriesValue = (text: string, name: string, labels: Record<string, string>): number => {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && wanted.every((w) => l.includes(w)));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
};

describe(`request bodies the client abandons (${testTransport()})`, () => {
  it('settle: every aborted body is answered internally, and SIGTERM then exits well before SHUTDOWN_TIMEOUT_MS', async () => {
    // Ten minutes: a shutdown still waiting for an abandoned request would outlast the test.
    const server = await startServerProcess({ SHUTDOWN_TIMEOUT_MS: '600000', METRICS_TOKEN });
    try {
      const aborted = 20;
      const partial =
        'POST /auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 65000\r\n\r\n{"username": "someone", "pass';
      const sockets = await Promise.all(Array.from({ length: aborted }, () => connectAndWrite(server.port, partial)));
      for (const socket of sockets) socket.destroy();

      // A settled request is counted once its reply is known (nobody is left to send it to): the
      // count reaching the number of abandoned bodies proves none is still in flight.
      const settled = async () => {
        const res = await fetch(`http://127.0.0.1:${server.port}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
        return seriesValue(await res.text(), 'chat_http_requests_total', { route: '/auth/login', method: 'POST' });
      };
      const deadline = Date.now() + 10_000;
      let count = await settled();
      while (count < aborted && Date.now() < deadline) {
        await sleep(50);
        count = await settled();
      }
      expect(count).toBe(aborted);

      const signalled = Date.now();
      server.process.child.kill('SIGTERM');
      const exit = await Promise.race([server.process.exited, new Promise<string>((resolve) => setTimeout(() => resolve('still running'), 10_000))]);
      expect(exit).toBe(0);
      expect(Date.now() - signalled).toBeLessThan(10_000);
    } finally {
      if (server.process.child.exitCode === null) server.process.child.kill('SIGKILL');
    }
  }, 60_000);
});
