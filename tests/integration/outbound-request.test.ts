import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outboundRequest } from '../../src/adapters/outbound/outbound-request.js';

/** Local servers with the behaviours the guard must handle, on real sockets. */
let plain: http.Server;
let redirecting: http.Server;
let silent: net.Server;
let trickling: http.Server;
let flooding: http.Server;
let counting: net.Server;
const received: string[] = [];
let connectionsToCounting = 0;
let floodClosed: Promise<number>;
const openSockets = new Set<net.Socket>();

const track = <S extends net.Server>(server: S): S => {
  server.on('connection', (socket: net.Socket) => {
    openSockets.add(socket);
    socket.on('close', () => openSockets.delete(socket));
  });
  return server;
};
const listen = async (server: net.Server, host = '127.0.0.1') => {
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return (server.address() as AddressInfo).port;
};
const ports: Record<string, number> = {};

beforeAll(async () => {
  plain = track(
    http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        received.push(`${req.method} ${req.url} ${req.headers['x-test'] ?? ''} ${body}`);
        res.writeHead(201, { 'x-answer': 'yes' }).end('hello');
      });
    }),
  );
  redirecting = track(http.createServer((_req, res) => res.writeHead(302, { location: 'http://127.0.0.1:1/elsewhere' }).end()));
  silent = track(net.createServer(() => undefined)); // accepts and never answers
  trickling = track(
    http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const timer = setInterval(() => res.write('.'), 50);
      res.on('close', () => clearInterval(timer));
    }),
  );
  let resolveFlood: (bytes: number) => void;
  floodClosed = new Promise((resolve) => (resolveFlood = resolve));
  flooding = track(
    http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const chunk = Buffer.alloc(64 * 1024, 'x');
      let sent = 0;
      const pump = () => {
        while (!res.destroyed && sent < 1024 * 1024 * 1024) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
      };
      res.on('close', () => resolveFlood(sent));
      pump();
    }),
  );
  counting = track(net.createServer((socket) => (connectionsToCounting++, socket.destroy())));
  ports.plain = await listen(plain);
  ports.redirecting = await listen(redirecting);
  ports.silent = await listen(silent);
  ports.trickling = await listen(trickling);
  ports.flooding = await listen(flooding);
  ports.counting = await listen(counting);
});

afterAll(async () => {
  for (const socket of openSockets) socket.destroy();
  await Promise.all([plain, redirecting, silent, trickling, flooding, counting].map((s) => new Promise((resolve) => s?.close(resolve))));
});

describe('outboundRequest', () => {
  it('refuses a loopback server without private targets allowed, and reaches it with them allowed', async () => {
    const url = `http://127.0.0.1:${ports.plain}/in?x=1`;
    const before = received.length;
    expect(await outboundRequest(url.replace('http:', 'https:'), { body: 'x' })).toMatchObject({ ok: false, failure: 'refused-address' });
    expect(await outboundRequest(`https://[::ffff:127.0.0.1]:${ports.plain}/`)).toMatchObject({ ok: false, failure: 'refused-address' });
    const reached = await outboundRequest(url, { allowPrivate: true, method: 'PUT', headers: { 'x-test': 'h' }, body: 'payload' });
    expect(reached).toMatchObject({ ok: true, status: 201, body: 'hello', truncated: false, headers: { 'x-answer': 'yes' } });
    // Only the allowed request arrived.
    expect(received.slice(before)).toEqual(['PUT /in?x=1 h payload']);
  });

  it('refuses http: without private targets allowed, before any connection', async () => {
    const before = received.length;
    const result = await outboundRequest(`http://127.0.0.1:${ports.plain}/`);
    expect(result).toMatchObject({ ok: false, failure: 'refused-url', message: expect.stringContaining('https') });
    expect(await outboundRequest(`https://u:p@example.com/`)).toMatchObject({ ok: false, failure: 'refused-url' });
    expect(received.length).toBe(before);
  });

  it('checks what a host name resolves to when connecting: https://localhost is refused without a connection being made', async () => {
    const refused = await outboundRequest(`https://localhost:${ports.counting}/`, { timeoutMs: 5_000 });
    expect(refused).toMatchObject({ ok: false, failure: 'refused-address', message: expect.stringContaining('localhost resolves to a non-public address') });
    // The positive signal that the same name is otherwise connectable: with private targets allowed it connects (and the server hangs up).
    const allowed = await outboundRequest(`http://localhost:${ports.counting}/`, { allowPrivate: true, timeoutMs: 5_000 });
    expect(allowed).toMatchObject({ ok: false, failure: 'failed' });
    expect(connectionsToCounting).toBe(1);
  });

  it('does not follow a 302', async () => {
    const before = received.length;
    const result = await outboundRequest(`http://127.0.0.1:${ports.redirecting}/`, { allowPrivate: true });
    expect(result).toMatchObject({ ok: false, failure: 'redirect', status: 302, message: expect.stringContaining('not followed') });
    expect(received.length).toBe(before);
  });

  it('gives up on a server that never answers at the deadline', async () => {
    const started = performance.now();
    const result = await outboundRequest(`http://127.0.0.1:${ports.silent}/`, { allowPrivate: true, timeoutMs: 400 });
    const elapsed = performance.now() - started;
    expect(result).toMatchObject({ ok: false, failure: 'timeout' });
    expect(elapsed).toBeGreaterThanOrEqual(390);
    expect(elapsed).toBeLessThan(3_000);
  });

  it('counts the body in the same deadline: a body that trickles forever times out', async () => {
    const started = performance.now();
    const result = await outboundRequest(`http://127.0.0.1:${ports.trickling}/`, { allowPrivate: true, timeoutMs: 500, maxResponseBytes: 1_000_000 });
    expect(result).toMatchObject({ ok: false, failure: 'timeout' });
    expect(performance.now() - started).toBeLessThan(3_000);
  });

  it('fails fast on a refused connection', async () => {
    const closed = net.createServer();
    const port = await listen(closed);
    await new Promise((resolve) => closed.close(resolve));
    expect(await outboundRequest(`http://127.0.0.1:${port}/`, { allowPrivate: true })).toMatchObject({ ok: false, failure: 'connect-failed' });
  });

  it('cuts a huge body at the limit and closes the connection', async () => {
    const result = await outboundRequest(`http://127.0.0.1:${ports.flooding}/`, { allowPrivate: true, method: 'GET', maxResponseBytes: 1000 });
    expect(result).toMatchObject({ ok: true, status: 200, truncated: true });
    expect(result.ok && result.body).toBe('x'.repeat(1000));
    // The server sees the connection closed long before its gigabyte is out.
    expect(await floodClosed).toBeLessThan(64 * 1024 * 1024);
  });

  it('keeps the connection: three requests in a row to one origin arrive on one connection', async () => {
    let connections = 0;
    const server = track(http.createServer((_req, res) => res.end('ok')));
    server.on('connection', () => connections++);
    const port = await listen(server);
    try {
      for (let i = 0; i < 3; i++) expect(await outboundRequest(`http://127.0.0.1:${port}/`, { allowPrivate: true })).toMatchObject({ ok: true, body: 'ok' });
      expect(connections).toBe(1);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('sends again on a new connection when a kept one is reset as it is reused, and is answered there', async () => {
    // The first connection answers one request, keeping the connection, then resets it at the next;
    // later connections answer every request.
    let connections = 0;
    const requestsSeen: number[] = [];
    const server = track(
      net.createServer((socket) => {
        const n = ++connections;
        let answered = 0;
        socket.on('data', () => {
          requestsSeen.push(n);
          if (n === 1 && answered === 1) return void socket.resetAndDestroy();
          answered++;
          socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: keep-alive\r\n\r\nok');
        });
      }),
    );
    const port = await listen(server);
    try {
      expect(await outboundRequest(`http://127.0.0.1:${port}/`, { allowPrivate: true, body: 'a' })).toMatchObject({ ok: true, body: 'ok' });
      expect(await outboundRequest(`http://127.0.0.1:${port}/`, { allowPrivate: true, body: 'b' })).toMatchObject({ ok: true, body: 'ok' });
      // The second request reached the kept connection (which reset it), then a new one.
      expect(requestsSeen).toEqual([1, 1, 2]);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
