import { io as connectIo } from 'socket.io-client';
import WebSocket from 'ws';
import { afterAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/eventually.js';
import { startTestServer, type TestServer } from '../support/test-server.js';
import { WsClient } from '../support/ws-client.js';

const servers: TestServer[] = [];
const sockets: WsClient[] = [];
async function server(env: Record<string, string> = {}): Promise<TestServer> {
  const s = await startTestServer(env);
  servers.push(s);
  return s;
}
async function connect(s: TestServer, token: string): Promise<WsClient> {
  const c = await WsClient.connect(s.wsUrl, token);
  sockets.push(c);
  return c;
}
afterAll(async () => {
  for (const c of sockets) c.socket.terminate();
  for (const s of servers) await s.stop();
});

const code = (frame: { event: string; error?: { code: string } }) => (frame.event === 'error' ? frame.error!.code : frame.event);

describe('validation', () => {
  it('refuses NUL in every kind of text with VALIDATION_FAILED, and NUL frames in a burst cost the other messages nothing', async () => {
    const s = await server();
    const [a, b] = [await s.http.register(), await s.http.register()];
    const conv = (await s.http.post('/conversations', { participant_ids: [b.id] }, a.token)).body.id;
    const ws = await connect(s, a.token);
    const sent = await ws.request('sendMessage', { conversation_id: conv, content: 'fine' });
    expect(code(await ws.request('editMessage', { message_id: sent.data.id, content: 'bad\u0000' }))).toBe('VALIDATION_FAILED');
    expect(code(await ws.request('sendMessage', { conversation_id: conv, content: 'x', client_id: 'c\u0000' }))).toBe('VALIDATION_FAILED');
    const reg = await s.http.post('/auth/register', { email: 'nul@example.com', username: 'nul_user', password: 'pass\u0000word', role: 'tenant' });
    expect([reg.status, reg.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);
    const group = await s.http.post('/conversations', { participant_ids: [b.id], title: 'a\u0000b' }, a.token);
    expect([group.status, group.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);
    // 240 frames at once (within WS_MAX_IN_FLIGHT), 8 with NUL: every good one is stored, every bad one refused, none INTERNAL.
    const burst = await Promise.all(
      Array.from({ length: 240 }, (_, i) => ws.request('sendMessage', { conversation_id: conv, content: i % 30 === 0 ? `bad ${i}\u0000` : `good ${i}` })),
    );
    const outcomes = burst.map(code);
    expect(outcomes.filter((c) => c === 'VALIDATION_FAILED')).toHaveLength(8);
    expect(outcomes.filter((c) => c === 'ack')).toHaveLength(232);
  });

  it('refuses lone surrogates in content, client_id and attachment text with VALIDATION_FAILED, and stores surrogate pairs (emoji) verbatim', async () => {
    const s = await server();
    const [a, b] = [await s.http.register(), await s.http.register()];
    const conv = (await s.http.post('/conversations', { participant_ids: [b.id] }, a.token)).body.id;
    const ws = await connect(s, a.token);
    const attachment = (name: string) => ({ url: 'https://cdn.example.com/a.png', name, mime_type: 'image/png', size: 10 });
    expect(code(await ws.request('sendMessage', { conversation_id: conv, content: 'half \ud800 a pair' }))).toBe('VALIDATION_FAILED');
    expect(code(await ws.request('sendMessage', { conversation_id: conv, content: 'x', client_id: 'k\udc00' }))).toBe('VALIDATION_FAILED');
    expect(code(await ws.request('sendMessage', { conversation_id: conv, content: 'x', type: 'image', attachment: attachment('\udc00\ud800') }))).toBe(
      'VALIDATION_FAILED',
    );
    const rest = await s.http.post(`/conversations/${conv}/messages`, { content: 'rest \udfff' }, a.token);
    expect([rest.status, rest.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);
    const emoji = 'pair 😀 and 𝄞';
    const sent = await ws.request('sendMessage', { conversation_id: conv, content: emoji, client_id: 'k😀', type: 'image', attachment: attachment('😀.png') });
    expect(sent.event).toBe('ack');
    const stored = (await s.http.get(`/conversations/${conv}/messages`, a.token)).body.messages.find((m: { id: number }) => m.id === sent.data.id);
    expect([stored.content, stored.client_id, stored.attachment.name]).toEqual([emoji, 'k😀', '😀.png']);
  });

  it('refuses ids beyond the column types with VALIDATION_FAILED, and accepts numeric strings and 0 cursors as documented', async () => {
    const s = await server();
    const [a, b] = [await s.http.register(), await s.http.register()];
    const conv = (await s.http.post('/conversations', { participant_ids: [b.id] }, a.token)).body.id;
    const ws = await connect(s, a.token);
    for (const big of [2 ** 31, 2 ** 31 + 5, 999_999_999_999_999, '2147483648', '123456789012345']) {
      expect(code(await ws.request('sendMessage', { conversation_id: big, content: 'x' }))).toBe('VALIDATION_FAILED');
      expect(code(await ws.request('joinConversation', { conversation_id: big }))).toBe('VALIDATION_FAILED');
      const rest = await s.http.get(`/conversations/${big}/messages`, a.token);
      expect([rest.status, rest.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);
    }
    expect(code(await ws.request('deleteMessage', { message_id: 2 ** 53 }))).toBe('VALIDATION_FAILED');
    const sent = await ws.request('sendMessage', { conversation_id: String(conv), content: 'by string id' });
    expect(sent.event).toBe('ack');
    const joined = await ws.request('joinConversation', { conversation_id: conv, since: '0' });
    expect(joined.data.messages.map((m: { id: number }) => m.id)).toEqual([sent.data.id]);
    const page = await s.http.get(`/conversations/${conv}/messages?after=0&limit=10`, a.token);
    expect([page.status, page.body.messages.map((m: { id: number }) => m.id)]).toEqual([200, [sent.data.id]]);
    expect((await s.http.get(`/conversations/${conv}/messages?limit=abc`, a.token)).status).toBe(400);
  });

  it('keys idempotency by sender, conversation and client_id', async () => {
    const s = await server();
    const [a, b, c] = [await s.http.register(), await s.http.register(), await s.http.register()];
    const ab = (await s.http.post('/conversations', { participant_ids: [b.id] }, a.token)).body.id;
    const ac = (await s.http.post('/conversations', { participant_ids: [c.id] }, a.token)).body.id;
    const ws = await connect(s, a.token);
    const first = await ws.request('sendMessage', { conversation_id: ab, content: 'to b', client_id: 'c-1' });
    const second = await ws.request('sendMessage', { conversation_id: ac, content: 'to c', client_id: 'c-1' });
    expect(second.data).toMatchObject({ conversation_id: ac, content: 'to c' });
    expect(second.data.id).not.toBe(first.data.id);
    await ws.request('deleteMessage', { message_id: first.data.id });
    expect((await ws.request('sendMessage', { conversation_id: ab, content: 'to b', client_id: 'c-1' })).error?.code).toBe('MESSAGE_NOT_FOUND');
  });

  it('treats usernames without regard to case', async () => {
    const s = await server();
    const tom = await s.http.register('tom_case');
    const again = await s.http.post('/auth/register', { email: 'other@example.com', username: 'TOM_case', password: 'correct horse', role: 'tenant' });
    expect([again.status, again.body.error.code]).toEqual([409, 'USERNAME_TAKEN']);
    const login = await s.http.post('/auth/login', { username: 'Tom_Case', password: 'correct horse' });
    expect([login.status, login.body.user.id]).toEqual([200, tom.id]);
  });
});

describe('limits', () => {
  it('answers REST sends, conversation creation and registrations past their limits with 429 RATE_LIMITED and Retry-After', async () => {
    const s = await server({
      RATE_LIMITS: 'on',
      REST_SENDS_PER_USER_PER_MINUTE: '20',
      CONVERSATIONS_PER_USER_PER_MINUTE: '3',
      REGISTER_PER_IP_PER_MINUTE: '4',
    });
    const [a, b] = [await s.http.register(), await s.http.register()];
    const conv = (await s.http.post('/conversations', { participant_ids: [b.id] }, a.token)).body.id;
    const sends = await Promise.all(Array.from({ length: 30 }, (_, i) => s.http.post(`/conversations/${conv}/messages`, { content: `m${i}` }, a.token)));
    expect(sends.filter((r) => r.status === 201)).toHaveLength(20);
    const refused = sends.filter((r) => r.status === 429);
    expect(refused).toHaveLength(10);
    expect(refused[0]!.body.error.code).toBe('RATE_LIMITED');
    expect(Number(refused[0]!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // Another user is not affected.
    expect((await s.http.post(`/conversations/${conv}/messages`, { content: 'from b' }, b.token)).status).toBe(201);
    const creations = [];
    for (let i = 0; i < 4; i++) creations.push((await s.http.post('/conversations', { participant_ids: [b.id], title: `g${i}` }, a.token)).status);
    expect(creations).toEqual([201, 201, 429, 429]); // the first of the limit went to the direct conversation above
    const regs = [];
    for (let i = 0; i < 3; i++)
      regs.push((await s.http.post('/auth/register', { email: `r${i}@x.io`, username: `reg_${i}`, password: 'correct horse', role: 'tenant' })).status);
    expect(regs).toEqual([201, 201, 429]); // the two registrations above used two of the four
  });

  it('caps the groups one user creates per hour', async () => {
    const s = await server({ RATE_LIMITS: 'on', GROUPS_PER_USER_PER_HOUR: '2', CONVERSATIONS_PER_USER_PER_MINUTE: '0' });
    const [a, b] = [await s.http.register(), await s.http.register()];
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push(await s.http.post('/conversations', { participant_ids: [b.id], title: `spam ${i}` }, a.token));
    expect(statuses.map((r) => r.status)).toEqual([201, 201, 429]);
    expect(statuses[2]!.body.error).toMatchObject({ code: 'RATE_LIMITED', details: { retry_after_seconds: expect.any(Number) } });
    expect(statuses[2]!.headers.get('retry-after')).toBeTruthy();
  });

  it('limits logins per address, and locks an account after 10 failures even with RATE_LIMITS=off', async () => {
    const limited = await server({ RATE_LIMITS: 'on', LOGIN_PER_IP_PER_MINUTE: '3' });
    const u = await limited.http.register();
    const tries = [];
    for (let i = 0; i < 4; i++) tries.push((await limited.http.post('/auth/login', { username: u.username, password: 'correct horse' })).status);
    expect(tries).toEqual([200, 200, 200, 429]);

    const open = await server({ RATE_LIMITS: 'off' });
    const v = await open.http.register();
    const failures = [];
    for (let i = 0; i < 10; i++) failures.push((await open.http.post('/auth/login', { username: v.username, password: 'wrong password' })).status);
    expect(failures).toEqual(Array(10).fill(401));
    const locked = await open.http.post('/auth/login', { username: v.username, password: 'correct horse' });
    expect([locked.status, locked.body.error.code]).toEqual([429, 'RATE_LIMITED']);
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(800);
    // By email, the same account is locked; another account is not.
    expect((await open.http.post('/auth/login', { email: `${v.username}@example.com`, password: 'correct horse' })).status).toBe(429);
    const w = await open.http.register();
    expect((await open.http.post('/auth/login', { username: w.username, password: 'correct horse' })).status).toBe(200);
  });

  it('charges malformed frames to the connection’s rate limit', async () => {
    const s = await server({ RATE_LIMITS: 'on', RATE_LIMIT_PER_SECOND: '0.1', RATE_LIMIT_BURST: '3' });
    const [a, b] = [await s.http.register(), await s.http.register()];
    const conv = (await s.http.post('/conversations', { participant_ids: [b.id] }, a.token)).body.id;
    const ws = await connect(s, a.token);
    for (let i = 0; i < 3; i++) ws.sendRaw('{"event": not json');
    const answer = await ws.request('sendMessage', { conversation_id: conv, content: 'after the junk' });
    expect(answer.error?.code).toBe('RATE_LIMITED');
    expect(ws.frames.filter((f) => f.error?.code === 'INVALID_JSON')).toHaveLength(3);
  });

  it('refuses upgrades past the per-user and per-address connection caps with 429', async () => {
    const s = await server({ RATE_LIMITS: 'on', MAX_CONNECTIONS_PER_USER: '2', MAX_CONNECTIONS_PER_ADDRESS: '3' });
    const [a, b] = [await s.http.register(), await s.http.register()];
    await connect(s, a.token);
    await connect(s, a.token);
    await expect(WsClient.connect(s.wsUrl, a.token)).rejects.toMatchObject({ status: 429 });
    await connect(s, b.token);
    await expect(WsClient.connect(s.wsUrl, b.token)).rejects.toMatchObject({ status: 429 });
    // Closing one frees a place.
    await sockets.at(-1)!.close();
    await connect(s, b.token);
  });

  it('answers upgrades beyond UPGRADE_MAX_IN_FLIGHT with 503 OVERLOADED and Retry-After (none left waiting), and upgrades the rest', async () => {
    const s = await server({ UPGRADE_MAX_IN_FLIGHT: '1' });
    const users = await Promise.all(Array.from({ length: 8 }, () => s.http.register()));
    type Outcome = { status: number; retryAfter?: string; code?: string };
    const attempt = (token: string) =>
      new Promise<Outcome>((resolve, reject) => {
        const socket = new WebSocket(`${s.wsUrl}?token=${encodeURIComponent(token)}`);
        socket.once('open', () => {
          socket.close();
          resolve({ status: 101 });
        });
        socket.once('unexpected-response', (_req, res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode!, retryAfter: res.headers['retry-after'] as string, code: JSON.parse(body).error.code }));
        });
        socket.once('error', reject);
      });
    const outcomes = await Promise.all(users.flatMap((u) => [u, u, u, u, u]).map((u) => attempt(u.token)));
    const refused = outcomes.filter((o) => o.status !== 101);
    expect(outcomes.filter((o) => o.status === 101).length).toBeGreaterThan(0);
    expect(refused.length).toBeGreaterThan(0);
    for (const r of refused) {
      expect(r).toMatchObject({ status: 503, code: 'OVERLOADED' });
      expect(Number(r.retryAfter)).toBeGreaterThan(0);
    }
  });
});

describe('Socket.IO', () => {
  it('refuses a disallowed origin on its WebSocket handshake, and disconnects a client that stops reading (4008), keeping the others', async () => {
    const s = await server({ CORS_ORIGINS: 'https://app.example.com', WS_MAX_BACKPRESSURE_BYTES: '131072' });
    const [a, b, c] = [await s.http.register(), await s.http.register(), await s.http.register()];
    const conv = (await s.http.post('/conversations', { participant_ids: [b.id, c.id], title: 'firehose' }, a.token)).body.id;
    const url = `http://127.0.0.1:${s.port}`;
    const evil = connectIo(url, {
      query: { token: b.token },
      transports: ['websocket'],
      extraHeaders: { origin: 'https://evil.example.com' },
      reconnection: false,
      forceNew: true,
    });
    await expect(new Promise<void>((resolve, reject) => (evil.once('connect', () => resolve()), evil.once('connect_error', reject)))).rejects.toThrow();
    evil.disconnect();

    const slow = connectIo(url, {
      query: { token: b.token },
      transports: ['websocket'],
      extraHeaders: { origin: 'https://app.example.com' },
      reconnection: false,
      forceNew: true,
    });
    const healthy = connectIo(url, { query: { token: c.token }, transports: ['websocket'], reconnection: false, forceNew: true });
    await Promise.all([slow, healthy].map((x) => new Promise<void>((r) => x.once('connect', () => r()))));
    const healthyGot: number[] = [];
    healthy.on('receiveMessage', (m: { id: number }) => healthyGot.push(m.id));
    const gone = new Promise<void>((r) => slow.once('disconnect', () => r()));
    // Stop reading: pause the client's TCP socket under engine.io-client's WebSocket.
    (slow.io.engine as unknown as { transport: { ws: { _socket: { pause(): void } } } }).transport.ws._socket.pause();
    const big = 'z'.repeat(9_000);
    for (let round = 0; round < 100 && slow.connected; round++) {
      await Promise.all(Array.from({ length: 8 }, (_, i) => s.http.post(`/conversations/${conv}/messages`, { content: `${round}.${i} ${big}` }, a.token)));
      if (s.gateway.registry.connectionsOf(b.id).size === 0) break;
    }
    expect(s.gateway.registry.connectionsOf(b.id).size).toBe(0);
    (slow.io.engine as unknown as { transport: { ws: { _socket: { resume(): void } } } }).transport.ws._socket.resume();
    await gone;
    const last = (await s.http.post(`/conversations/${conv}/messages`, { content: 'still delivering' }, a.token)).body;
    await eventually(() => healthyGot.includes(last.id));
    expect(healthy.connected).toBe(true);
    healthy.disconnect();
    slow.disconnect();
  }, 60_000);
});

describe('shutdown', () => {
  it('once stopping, answers a new event with SERVICE_UNAVAILABLE and a new request with 503 and Retry-After, on a connection still open', async () => {
    const s = await server();
    const [a, b] = [await s.http.register(), await s.http.register()];
    const conv = (await s.http.post('/conversations', { participant_ids: [b.id] }, a.token)).body.id;
    const ws = await connect(s, a.token);
    expect((await ws.request('sendMessage', { conversation_id: conv, content: 'before' })).event).toBe('ack');
    const settling = s.gateway.settle(5_000);
    const refused = await ws.request('sendMessage', { conversation_id: conv, content: 'after' });
    expect(refused).toMatchObject({ event: 'error', error: { code: 'SERVICE_UNAVAILABLE', details: { retry_after_seconds: 1 } } });
    const rest = await s.http.get('/conversations', a.token);
    expect([rest.status, rest.body.error.code, rest.headers.get('retry-after')]).toEqual([503, 'SERVICE_UNAVAILABLE', '1']);
    await settling;
  });
});

describe('logs', () => {
  it('carry no message content, password, token or SQL parameters, at the most verbose level, through failures too', async () => {
    const { startServerProcess, killAll } = await import('../support/server-process.js');
    const proc = await startServerProcess({ LOG_LEVEL: 'trace' });
    try {
      const [a, b] = [await proc.http.register('secret_keeper'), await proc.http.register()];
      const conv = (await proc.http.post('/conversations', { participant_ids: [b.id] }, a.token)).body.id;
      const ws = await WsClient.connect(proc.wsUrl, a.token);
      sockets.push(ws);
      const marker = 'TOP-SECRET-CONTENT-4f7a';
      const sent = await ws.request('sendMessage', { conversation_id: conv, content: marker, client_id: 'CLIENT-ID-MARKER-9c1' });
      await ws.request('editMessage', { message_id: sent.data.id, content: `${marker} edited` });
      await ws.request('sendMessage', { conversation_id: conv, content: `${marker}\u0000` });
      await proc.http.post('/auth/login', { username: 'secret_keeper', password: 'WRONG-PASSWORD-MARKER' });
      await proc.http.post('/auth/register', { email: 'x@example.com', username: 'secret_keeper', password: 'REGISTER-PASSWORD-MARKER', role: 'tenant' });
      await proc.http.get('/users/me', `${a.token}x`);
      await proc.http.post(`/conversations/${conv}/messages`, { content: `${marker} rest` }, a.token);
      await proc.http.get('/readyz');
      const output = proc.process.output();
      expect(output).toContain('"level":20'); // debug lines (every query) were written: the absence below means something
      for (const secret of [
        marker,
        'CLIENT-ID-MARKER',
        'WRONG-PASSWORD-MARKER',
        'REGISTER-PASSWORD-MARKER',
        'correct horse',
        a.token,
        a.token.split('.')[2]!,
      ]) {
        expect(output.includes(secret), secret).toBe(false);
      }
    } finally {
      await proc.stop();
      killAll();
    }
  });
});
