import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killAll, startServerProcess } from '../support/server-process.js';
import { startTestServer, type TestServer } from '../support/test-server.js';
import { testTransport } from '../support/transport.js';
import { sleep } from '../support/ws-client.js';

const METRICS_TOKEN = 'metrics-token-metrics-token-0123';

const servers: TestServer[] = [];
afterAll(async () => {
  killAll();
  for (const s of servers) await s.stop();
});
async function server(env: Record<string, string> = {}): Promise<TestServer> {
  const s = await startTestServer(env);
  servers.push(s);
  return s;
}

/** Writes `data` on a fresh connection and resolves once it is on its way. */
const connectAndWrite = (port: number, data: string) =>
  new Promise<net.Socket>((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(data, () => resolve(socket)));
    socket.on('error', reject);
  });

/** Sends raw bytes and collects what comes back until the server closes the connection (or `boundMs` passes). */
const exchange = (port: number, data: string, boundMs = 5_000) =>
  new Promise<{ text: string; closed: boolean; afterMs: number }>((resolve, reject) => {
    const started = Date.now();
    let text = '';
    const socket = net.connect(port, '127.0.0.1', () => socket.write(data));
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ text, closed: false, afterMs: Date.now() - started });
    }, boundMs);
    socket.on('data', (d) => (text += d.toString('latin1')));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text, closed: true, afterMs: Date.now() - started });
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'ECONNRESET') reject(error);
    });
  });

const statusLines = (text: string) => text.split('\r\n').filter((line) => /^HTTP\/1\.1 \d{3}/.test(line));
const errorCodeIn = (text: string) => (JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as { error: { code: string } }).error.code;

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

describe(`request bodies of ambiguous length (${testTransport()})`, () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await server();
  });
  const post = (framing: string, after = '') =>
    `POST /auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n${framing}\r\n\r\n{}${after}`;
  // Past the first length, a request that would be answered too were that length believed.
  const smuggled = 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';
  const twoLengths: Array<[string, string]> = [
    ['two different Content-Length headers', 'Content-Length: 2\r\nContent-Length: 47'],
    ['two equal Content-Length headers', 'Content-Length: 2\r\nContent-Length: 2'],
  ];

  for (const [name, framing] of twoLengths) {
    it(`answers ${name} with 400 MALFORMED_REQUEST and closes the connection`, async () => {
      const answer = await exchange(s.port, post(framing));
      expect(answer.closed).toBe(true);
      expect(statusLines(answer.text)).toEqual(['HTTP/1.1 400 Bad Request']);
      expect(errorCodeIn(answer.text)).toBe('MALFORMED_REQUEST');
      expect((await fetch(`http://127.0.0.1:${s.port}/healthz`)).status).toBe(200);
    });

    it(`serves nothing of what follows ${name} on the connection, which closes`, async () => {
      const answer = await exchange(s.port, post(framing, smuggled));
      expect(answer.closed).toBe(true);
      // Node answers 400; uWebSockets.js drops a connection with a request pipelined behind an unanswered one.
      expect(statusLines(answer.text)).toEqual(testTransport() === 'node' ? ['HTTP/1.1 400 Bad Request'] : []);
    });
  }

  it(`refuses Content-Length with Transfer-Encoding (${testTransport() === 'node' ? '400' : 'the uWebSockets.js parser drops the connection'}) and serves nothing after it`, async () => {
    const answer = await exchange(s.port, post('Content-Length: 2\r\nTransfer-Encoding: chunked', smuggled));
    expect(answer.closed).toBe(true);
    expect(statusLines(answer.text)).toEqual(testTransport() === 'node' ? ['HTTP/1.1 400 Bad Request'] : []);
    expect((await fetch(`http://127.0.0.1:${s.port}/healthz`)).status).toBe(200);
  });
});

describe(`a client that stops in the middle of its headers (${testTransport()})`, () => {
  it('is cut within the 10 s header timeout and a second of margin', async () => {
    // A fresh server: Node checks its timeouts on an interval that starts when it listens.
    const s = await server();
    const answer = await exchange(s.port, 'POST /auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Ty', 12_500);
    expect(answer.closed).toBe(true);
    expect(answer.afterMs).toBeLessThan(12_500);
    expect(answer.afterMs).toBeGreaterThanOrEqual(9_000);
    // uWebSockets.js closes such a socket without a word; Node answers 408 first.
    expect(statusLines(answer.text)).toEqual(testTransport() === 'node' ? ['HTTP/1.1 408 Request Timeout'] : []);
  }, 30_000);
});
