import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killAll, startServerProcess } from '../support/server-process.js';
import { startTestServer, type TestServer } from '../support/test-server.js';
import { testTransport } from '../support/transport.js';
import { sleep, WsClient } from '../support/ws-client.js';

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

/** The sum of the series of one metric that carry these labels (whatever their others). */
const seriesSum = (text: string, name: string, labels: Record<string, string>): number => {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const lines = text.split('\n').filter((l) => l.startsWith(`${name}{`) && wanted.every((w) => l.includes(w)));
  return lines.reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
};

describe(`request bodies the client abandons (${testTransport()})`, () => {
  it('are settled (each counted as answered), and SIGTERM then exits within 10 s although SHUTDOWN_TIMEOUT_MS is 10 minutes', async () => {
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
      const settledWith = async (status?: string) => {
        const res = await fetch(`http://127.0.0.1:${server.port}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
        return seriesSum(await res.text(), 'chat_http_requests_total', { route: '/auth/login', method: 'POST', ...(status ? { status } : {}) });
      };
      const settled = () => settledWith();
      const deadline = Date.now() + 10_000;
      let count = await settled();
      while (count < aborted && Date.now() < deadline) {
        await sleep(50);
        count = await settled();
      }
      expect(count).toBe(aborted);
      // Counted as the client's doing (499), not as server errors.
      expect(await settledWith('499')).toBe(aborted);

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
  it('is cut within its 10 s header timeout and a few seconds of margin, not before', async () => {
    // A fresh server: Node checks its timeouts on an interval that starts when it listens.
    const s = await server();
    const answer = await exchange(s.port, 'POST /auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Ty', 13_000);
    expect(answer.closed).toBe(true);
    // uWebSockets.js checks its timeouts every 4 s, so it cuts between 8 and 12 s; Node (every second) between 10 and 11 s.
    expect(answer.afterMs).toBeLessThan(13_000);
    expect(answer.afterMs).toBeGreaterThanOrEqual(7_500);
    // uWebSockets.js closes such a socket without a word; Node answers 408 first.
    expect(statusLines(answer.text)).toEqual(testTransport() === 'node' ? ['HTTP/1.1 408 Request Timeout'] : []);
  }, 30_000);
});

describe(`what a hostile web page can make a browser send (${testTransport()})`, () => {
  const ALLOWED = 'https://app.example.com';
  let s: TestServer;
  beforeAll(async () => {
    s = await server({ CORS_ORIGINS: ALLOWED });
  });
  // Plain fetch: these answers are checked here, not by the client's document conformance check.
  const send = (method: string, path: string, headers: Record<string, string>, body?: string) =>
    fetch(`http://127.0.0.1:${s.port}${path}`, { method, headers, body });
  const registration = (username: string) => JSON.stringify({ email: `${username}@example.com`, username, password: 'correct horse', role: 'tenant' });
  const codeOf = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code;

  for (const type of ['text/plain', 'text/plain; charset=utf-8', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', null]) {
    it(`refuses a JSON body sent as ${type ?? 'no Content-Type'} with 415 UNSUPPORTED_MEDIA_TYPE, and registers no one`, async () => {
      const username = `ctype_${Math.random().toString(36).slice(2, 9)}`;
      // fetch labels a string body text/plain unless told otherwise; a Blob without a type gets no Content-Type.
      const body = type === null ? new Blob([registration(username)]) : registration(username);
      const res = await fetch(`http://127.0.0.1:${s.port}/auth/register`, { method: 'POST', headers: type === null ? {} : { 'content-type': type }, body });
      expect(res.status).toBe(415);
      expect(await codeOf(res)).toBe('UNSUPPORTED_MEDIA_TYPE');
      // Nobody was registered: the same name is still free.
      const again = await s.http.post('/auth/register', JSON.parse(registration(username)));
      expect(again.status).toBe(201);
    });
  }

  it('takes JSON bodies sent as application/json with parameters, in any case', async () => {
    const username = `ctype_${Math.random().toString(36).slice(2, 9)}`;
    const res = await send('POST', '/auth/register', { 'content-type': 'Application/JSON; charset=utf-8' }, registration(username));
    expect(res.status).toBe(201);
  });

  it('refuses state changes from an origin CORS does not allow with 403 ORIGIN_NOT_ALLOWED, before any work', async () => {
    const username = `origin_${Math.random().toString(36).slice(2, 9)}`;
    const evil = { origin: 'https://evil.example', 'content-type': 'application/json' };
    const refused = await send('POST', '/auth/register', evil, registration(username));
    expect(refused.status).toBe(403);
    expect(await codeOf(refused)).toBe('ORIGIN_NOT_ALLOWED');
    expect(refused.headers.get('access-control-allow-origin')).toBeNull();
    const me = await s.http.register(username); // the name is still free: nothing was registered
    for (const [method, path] of [
      ['DELETE', '/users/me'],
      ['PATCH', '/users/me'],
      ['PUT', '/users/me'],
    ]) {
      const res = await send(method!, path!, { ...evil, authorization: `Bearer ${me.token}` }, '{}');
      expect([method, res.status, await codeOf(res)]).toEqual([method, 403, 'ORIGIN_NOT_ALLOWED']);
    }
    // The account survived the DELETE, and a read from that origin is still answered (without CORS headers).
    const read = await send('GET', '/users/me', { origin: 'https://evil.example', authorization: `Bearer ${me.token}` });
    expect(read.status).toBe(200);
    expect(read.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('runs state changes without an Origin, from the allowed origin and from its own origin (the browser app it serves)', async () => {
    const own = `http://127.0.0.1:${s.port}`;
    for (const origin of [null, ALLOWED, own]) {
      const username = `origin_${Math.random().toString(36).slice(2, 9)}`;
      const headers: Record<string, string> = { 'content-type': 'application/json', ...(origin ? { origin } : {}) };
      const res = await send('POST', '/auth/register', headers, registration(username));
      expect([origin, res.status]).toEqual([origin, 201]);
    }
  });

  it('opens /ws for its own origin (the browser app it serves) and refuses another with 403', async () => {
    const me = await s.http.register();
    const own = await WsClient.connect(s.wsUrl, me.token, { origin: `http://127.0.0.1:${s.port}` });
    expect((await own.request('joinConversation', { conversation_id: 999_999 })).error?.code).toBe('CONVERSATION_NOT_FOUND');
    own.socket.terminate();
    const refused = await WsClient.connect(s.wsUrl, me.token, { origin: 'https://evil.example' }).then(
      (c) => (c.socket.terminate(), 'opened'),
      (error: { status?: number }) => error.status,
    );
    expect(refused).toBe(403);
  });
});
