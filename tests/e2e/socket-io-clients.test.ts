import http from 'node:http';
import { io, type Socket, type SocketOptions, type ManagerOptions } from 'socket.io-client';
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase } from '../support/database.js';
import { eventually } from '../support/eventually.js';
import { HttpClient } from '../support/http-client.js';
import { freePort, killAll, PROCESS_TEST_ENV, startProcess, type ServerProcess } from '../support/server-process.js';
import { emitWithAnswer } from '../support/socket-io-client.js';
import { startStickyBalancer, type StickyBalancer } from '../support/sticky-balancer.js';

/** Socket.IO clients as they are really written: default options (long-polling, then upgrade), and the token in `auth`. */

const CONNECT_TIMEOUT_MS = 4_000;
type U = { id: number; token: string; username: string };
const processes: ServerProcess[] = [];
const balancers: StickyBalancer[] = [];
const sockets: Socket[] = [];
let cluster: { port: number; url: string; http: HttpClient };

/** A server process on a fresh database; WORKERS=2 waits until both workers listen. */
async function start(env: Record<string, string>) {
  const workers = Number(env.WORKERS ?? 1);
  const proc = await startProcess(
    {
      ...PROCESS_TEST_ENV,
      DATABASE_URL: await freshDatabase('sioclients'),
      SOCKETIO_CONNECT_TIMEOUT_MS: String(CONNECT_TIMEOUT_MS),
      // Workers share one port, so it is picked here rather than by the kernel.
      ...(workers > 1 ? { PORT: String(await freePort()) } : {}),
      ...env,
    },
    workers > 1 ? /listening on[\s\S]*listening on/ : '"listening on',
  );
  processes.push(proc);
  const url = `http://127.0.0.1:${proc.port}`;
  return { port: proc.port, url, http: new HttpClient(url) };
}

/** A socket.io-client connection; resolves once connected, rejects with its connect_error. */
function connect(url: string, options: Partial<ManagerOptions & SocketOptions>): Promise<Socket> {
  const socket = io(url, { reconnection: false, ...options });
  sockets.push(socket);
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', reject);
  });
}

/** A bare Engine.IO v4 long-polling session, to see exactly which packets the server sends. */
function rawPolling(url: string) {
  const base = `${url}/socket.io/?EIO=4&transport=polling`;
  return {
    handshake: (query = '', headers: Record<string, string> = {}) => fetch(`${base}${query ? `&${query}` : ''}`, { headers }),
    poll: async (sid: string) => {
      const res = await fetch(`${base}&sid=${encodeURIComponent(sid)}`);
      return { status: res.status, packets: (await res.text()).split('\x1e') };
    },
    post: (sid: string, ...packets: string[]) =>
      fetch(`${base}&sid=${encodeURIComponent(sid)}`, { method: 'POST', body: packets.join('\x1e'), headers: { 'content-type': 'text/plain;charset=UTF-8' } }),
  };
}
const sidOf = async (res: Response): Promise<string> => (JSON.parse((await res.text()).slice(1)) as { sid: string }).sid;

beforeAll(async () => {
  cluster = await start({ WORKERS: '2' });
});
afterAll(async () => {
  for (const s of sockets) s.disconnect();
  await Promise.all(balancers.map((b) => b.close()));
  await Promise.all(
    processes.map(async (p) => {
      p.child.kill('SIGTERM');
      await p.exited;
    }),
  );
  killAll();
});

describe('WORKERS=2: Socket.IO clients with their default options', () => {
  it('eight default clients (polling, then upgrade) and eight polling-only clients all connect, stay connected and converse', async () => {
    const users: U[] = [];
    for (let i = 0; i < 16; i++) users.push(await cluster.http.register());
    const conv = (await cluster.http.post('/conversations', { participant_ids: users.slice(1).map((u) => u.id), title: 'sixteen' }, users[0]!.token)).body.id;
    const clients = await Promise.all(users.map((u, i) => connect(cluster.url, { auth: { token: u.token }, ...(i < 8 ? {} : { transports: ['polling'] }) })));
    const drops = clients.map(() => 0);
    clients.forEach((c, i) => c.on('disconnect', () => (drops[i] = drops[i]! + 1)));
    const got = clients.map(() => new Set<string>());
    clients.forEach((c, i) => c.on('receiveMessage', (m: { content: string }) => got[i]!.add(m.content)));

    const answers = await Promise.all(clients.map((c, i) => emitWithAnswer(c, 'sendMessage', { conversation_id: conv, content: `from ${i}` })));
    expect(answers.map((a) => a.success)).toEqual(clients.map(() => true));
    // Everyone hears everyone else, whichever worker holds either side.
    await eventually(() => got.every((seen, i) => clients.every((_, j) => j === i || seen.has(`from ${j}`))), 20_000);
    // The default clients moved on to WebSocket; the polling-only ones stayed on polling.
    await eventually(() => clients.slice(0, 8).every((c) => c.io.engine.transport.name === 'websocket'), 10_000);
    expect(clients.slice(8).map((c) => c.io.engine.transport.name)).toEqual(Array(8).fill('polling'));
    expect(drops).toEqual(clients.map(() => 0));
  }, 60_000);
});

describe('where the token comes from', () => {
  let alice: U, bob: U, conv: number;
  beforeAll(async () => {
    [alice, bob] = [await cluster.http.register(), await cluster.http.register()];
    conv = (await cluster.http.post('/conversations', { participant_ids: [bob.id] }, alice.token)).body.id;
  });

  for (const transport of ['polling', 'websocket'] as const) {
    it(`accepts it in auth, in the query and in a bearer header, over ${transport}`, async () => {
      const ways = {
        auth: { auth: { token: alice.token } },
        query: { query: { token: alice.token } },
        header: { extraHeaders: { authorization: `Bearer ${alice.token}` } },
      };
      for (const [way, options] of Object.entries(ways)) {
        const socket = await connect(cluster.url, { ...options, transports: [transport] });
        const answer = await emitWithAnswer(socket, 'sendMessage', { conversation_id: conv, content: `${way} over ${transport}` });
        expect({ way, success: answer.success, sender: answer.message?.sender?.id }).toEqual({ way, success: true, sender: alice.id });
        socket.disconnect();
      }
    });
  }

  it('refuses a bad token: 401 at the handshake in the query or a header, connect_error UNAUTHORIZED in auth or with none', async () => {
    type ConnectError = Error & { description?: unknown; data?: { code?: string } };
    const outcome = (options: Partial<ManagerOptions & SocketOptions>) =>
      connect(cluster.url, { transports: ['polling'], ...options }).then(
        () => 'connected',
        (e: ConnectError) => ({ status: e.description, code: e.data?.code }),
      );
    expect(await outcome({ query: { token: `${alice.token}x` } })).toEqual({ status: 401, code: undefined });
    expect(await outcome({ extraHeaders: { authorization: `Bearer ${alice.token}x` } })).toEqual({ status: 401, code: undefined });
    expect(await outcome({ auth: { token: `${alice.token}x` } })).toEqual({ status: undefined, code: 'UNAUTHORIZED' });
    expect(await outcome({ auth: { token: 42 } })).toEqual({ status: undefined, code: 'UNAUTHORIZED' });
    expect(await outcome({})).toEqual({ status: undefined, code: 'UNAUTHORIZED' });
    expect(await outcome({ transports: ['websocket'] })).toEqual({ status: undefined, code: 'UNAUTHORIZED' });
    // The same client with the real token connects (the refusals above are not a broken endpoint).
    expect(await outcome({ auth: { token: alice.token } })).toBe('connected');
  });

  it('serves no event before a valid CONNECT: an event first closes the session unanswered; after a refused and an accepted CONNECT, an event is answered', async () => {
    const raw = rawPolling(cluster.url);
    const send = (ack: number, content: string) => `42${ack}${JSON.stringify(['sendMessage', { conversation_id: conv, content }])}`;
    const seen: string[] = [];
    const until = async (sid: string, done: () => boolean) => {
      while (!done()) {
        const { status, packets } = await raw.poll(sid);
        expect(status).toBe(200);
        seen.push(...packets);
      }
    };
    // An event before any CONNECT: Socket.IO closes the session (close packet, then an unknown session).
    const early = await sidOf(await raw.handshake());
    expect((await raw.post(early, send(1, 'before auth'))).status).toBe(200);
    const closed = await raw.poll(early);
    expect(closed.status === 400 || closed.packets.includes('1')).toBe(true);

    const sid = await sidOf(await raw.handshake());
    expect((await raw.post(sid, `40${JSON.stringify({ token: `${alice.token}x` })}`)).status).toBe(200);
    await until(sid, () => seen.some((p) => p.startsWith('44')));
    expect(JSON.parse(seen.find((p) => p.startsWith('44'))!.slice(2))).toMatchObject({ data: { code: 'UNAUTHORIZED' } });
    expect((await raw.post(sid, `40${JSON.stringify({ token: alice.token })}`)).status).toBe(200);
    await until(sid, () => seen.some((p) => p.startsWith('40{"sid"')));
    expect((await raw.post(sid, send(2, 'after auth'))).status).toBe(200);
    await until(sid, () => seen.some((p) => p.startsWith('432')));
    expect(JSON.parse(seen.find((p) => p.startsWith('432'))!.slice(3))).toMatchObject([{ success: true, message: { content: 'after auth' } }]);
    const history = (await cluster.http.get(`/conversations/${conv}/messages?limit=100`, bob.token)).body.messages.map((m: { content: string }) => m.content);
    expect(history).toContain('after auth');
    expect(history).not.toContain('before auth');
    await raw.post(sid, '1');
  });

  it(`closes a session that sends no CONNECT within the bound (${CONNECT_TIMEOUT_MS} ms), over polling and WebSocket`, async () => {
    const raw = rawPolling(cluster.url);
    const started = Date.now();
    const sid = await sidOf(await raw.handshake());
    const ws = new WebSocket(`ws://127.0.0.1:${cluster.port}/socket.io/?EIO=4&transport=websocket`);
    const wsOpened = new Promise<void>((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)));
    const wsClosed = new Promise<number>((resolve) => ws.once('close', () => resolve(Date.now() - started)));
    await wsOpened;
    // The pending long-poll is answered with Engine.IO's close packet when the bound runs out.
    const first = await raw.poll(sid);
    expect(first.packets).toContain('1');
    expect(Date.now() - started).toBeGreaterThanOrEqual(CONNECT_TIMEOUT_MS - 500);
    const after = await raw.poll(sid);
    expect(after.status).toBe(400);
    expect(await wsClosed).toBeGreaterThanOrEqual(CONNECT_TIMEOUT_MS - 500);
  }, 20_000);
});

describe('a token-less session before its CONNECT', () => {
  it('holds a place under the per-address connection cap until it connects or closes', async () => {
    const capped = await start({ RATE_LIMITS: 'on', MAX_CONNECTIONS_PER_ADDRESS: '2' });
    const alice = await capped.http.register();
    const raw = rawPolling(capped.url);
    const [first, second] = [await raw.handshake(), await raw.handshake()];
    expect([first.status, second.status]).toEqual([200, 200]);
    const [a, b] = [await sidOf(first), await sidOf(second)];
    const third = await raw.handshake();
    expect(third.status).toBe(429);
    expect(((await third.json()) as { error: { code: string } }).error.code).toBe('TOO_MANY_CONNECTIONS');
    // The first one authenticates: its place becomes its connection's, so the address is still full.
    await raw.post(a, `40${JSON.stringify({ token: alice.token })}`);
    const seen: string[] = [];
    while (!seen.some((p) => p.startsWith('40{"sid"'))) seen.push(...(await raw.poll(a)).packets);
    expect((await raw.handshake()).status).toBe(429);
    // The second closes: its place is free again.
    await raw.post(b, '1');
    expect((await raw.handshake()).status).toBe(200);
  });
});

describe('separately run processes behind a load balancer sticky by client address', () => {
  it('default and polling-only clients from eight addresses, spread over two processes on one database, all converse', async () => {
    const databaseUrl = await freshDatabase('siosticky');
    const [one, two] = [await start({ DATABASE_URL: databaseUrl }), await start({ DATABASE_URL: databaseUrl })];
    const balancer = await startStickyBalancer([one.port, two.port]);
    balancers.push(balancer);
    const users: U[] = [];
    for (let i = 0; i < 8; i++) users.push(await one.http.register());
    const conv = (await two.http.post('/conversations', { participant_ids: users.slice(1).map((u) => u.id), title: 'eight' }, users[0]!.token)).body.id;
    // Eight client machines: 127.0.0.2 … 127.0.0.9, alternately on either process.
    const clients = await Promise.all(
      users.map((u, i) => {
        const localAddress = `127.0.0.${i + 2}`;
        return connect(`http://127.0.0.1:${balancer.port}`, {
          auth: { token: u.token },
          agent: new http.Agent({ localAddress }) as unknown as string,
          localAddress,
          ...(i % 4 < 2 ? {} : { transports: ['polling'] }),
        } as Partial<ManagerOptions & SocketOptions>);
      }),
    );
    expect(balancer.handed.every((n) => n > 0)).toBe(true);
    const got = clients.map(() => new Set<string>());
    clients.forEach((c, i) => c.on('receiveMessage', (m: { content: string }) => got[i]!.add(m.content)));
    const answers = await Promise.all(clients.map((c, i) => emitWithAnswer(c, 'sendMessage', { conversation_id: conv, content: `from ${i}` })));
    expect(answers.map((a) => a.success)).toEqual(clients.map(() => true));
    await eventually(() => got.every((seen, i) => clients.every((_, j) => j === i || seen.has(`from ${j}`))), 20_000);
    await eventually(() => clients.filter((_, i) => i % 4 < 2).every((c) => c.io.engine.transport.name === 'websocket'), 10_000);
  }, 60_000);
});
