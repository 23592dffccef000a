import { randomUUID } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JoseTokenService } from '../../src/adapters/security/jose-token-service.js';
import { TEST_JWT_SECRET } from '../support/server-process.js';
import { startTestServer, type TestServer } from '../support/test-server.js';
import { testTransport } from '../support/transport.js';
import { WsClient } from '../support/ws-client.js';

let server: TestServer;
type U = { id: number; token: string; username: string };
let alice: U, bob: U;
let conversationId: number;
let ws: WsClient;
let firstMessageId: number;

beforeAll(async () => {
  server = await startTestServer({ MAX_CONTENT_LENGTH: '10000', MAX_FRAME_BYTES: '65536' });
  [alice, bob] = await Promise.all([server.http.register(), server.http.register()]);
  conversationId = (await server.http.post('/conversations', { participant_ids: [bob.id] }, alice.token)).body.id;
  ws = await WsClient.connect(server.wsUrl, alice.token);
  firstMessageId = (await ws.request('sendMessage', { conversation_id: conversationId, content: 'acknowledged before the abuse' })).data.id;
});

afterAll(async () => {
  ws?.socket.terminate();
  await server?.stop();
});

const errorOf = (frame: { event: string; error?: { code: string } }) => (frame.event === 'error' ? frame.error!.code : `no error (${frame.event})`);

describe('hostile WebSocket frames get an error frame with a stable code, and the connection stays open', () => {
  const cases: Array<[string, string, string]> = [
    ['malformed JSON', '{"event": "sendMessage", "data": {', 'INVALID_JSON'],
    ['a frame that is not an object', '[1, 2, 3]', 'INVALID_FRAME'],
    ['a bare string', '"sendMessage"', 'INVALID_FRAME'],
    ['null', 'null', 'INVALID_FRAME'],
    ['an event that is not a string', '{"event": 42, "ack": 1}', 'INVALID_FRAME'],
    ['an unknown event', '{"event": "dropTables", "data": {}, "ack": 2}', 'UNKNOWN_EVENT'],
    ['an ack that is an object', '{"event": "sendMessage", "data": {}, "ack": {"x": 1}}', 'INVALID_FRAME'],
    ['data that is an array', '{"event": "sendMessage", "data": [], "ack": 3}', 'VALIDATION_FAILED'],
  ];
  for (const [name, raw, code] of cases) {
    it(`answers ${name} with ${code}`, async () => {
      const before = ws.frames.length;
      ws.sendRaw(raw);
      const frame = await ws.waitFor((f) => f.event === 'error' && ws.frames.indexOf(f) >= before);
      expect(frame.error?.code).toBe(code);
      expect(typeof frame.error?.message).toBe('string');
    });
  }

  it('answers an error to the ack id it was given, exactly once', async () => {
    ws.sendRaw('{"event": "nope", "ack": "abc"}');
    const frame = await ws.waitFor((f) => f.ack === 'abc');
    expect(frame).toMatchObject({ event: 'error', ack: 'abc', error: { code: 'UNKNOWN_EVENT' } });
  });

  const payloads: Array<[string, unknown, string]> = [
    ['missing conversation_id', { content: 'x' }, 'VALIDATION_FAILED'],
    ['conversation_id of the wrong type', { conversation_id: { $gt: 0 }, content: 'x' }, 'VALIDATION_FAILED'],
    ['a negative conversation_id', { conversation_id: -1, content: 'x' }, 'VALIDATION_FAILED'],
    ['content of the wrong type', { conversation_id: 1, content: 12 }, 'VALIDATION_FAILED'],
    ['empty text content', { conversation_id: 1, content: '   ' }, 'VALIDATION_FAILED'],
    ['an unknown type', { conversation_id: 1, content: 'x', type: 'sticker' }, 'VALIDATION_FAILED'],
    ['an image without attachment', { conversation_id: 1, type: 'image' }, 'VALIDATION_FAILED'],
    ['a javascript: attachment URL', { conversation_id: 1, type: 'file', attachment: { url: 'javascript:alert(1)' } }, 'VALIDATION_FAILED'],
    ['a file: attachment URL', { conversation_id: 1, type: 'image', attachment: { url: 'file:///etc/passwd' } }, 'VALIDATION_FAILED'],
    ['content over the limit', { conversation_id: 1, content: 'x'.repeat(10_001) }, 'CONTENT_TOO_LONG'],
    ['a conversation that does not exist', { conversation_id: 999_999, content: 'x' }, 'CONVERSATION_NOT_FOUND'],
  ];
  for (const [name, data, code] of payloads) {
    it(`refuses sendMessage with ${name} (${code})`, async () => {
      const payload = data as { conversation_id: unknown };
      const fixed = payload.conversation_id === 1 ? { ...payload, conversation_id: conversationId } : payload;
      expect(errorOf(await ws.request('sendMessage', fixed))).toBe(code);
    });
  }

  it('refuses ids that do not exist on every event', async () => {
    expect(errorOf(await ws.request('editMessage', { message_id: 987_654, content: 'x' }))).toBe('MESSAGE_NOT_FOUND');
    expect(errorOf(await ws.request('deleteMessage', { message_id: 987_654 }))).toBe('MESSAGE_NOT_FOUND');
    expect(errorOf(await ws.request('markRead', { conversation_id: conversationId, message_id: 987_654 }))).toBe('MESSAGE_NOT_FOUND');
    expect(errorOf(await ws.request('joinConversation', { conversation_id: 987_654 }))).toBe('CONVERSATION_NOT_FOUND');
    expect(errorOf(await ws.request('leaveConversation', { conversation_id: 987_654 }))).toBe('CONVERSATION_NOT_FOUND');
  });

  it('stores SQL and HTML verbatim and never executes them', async () => {
    const nasty = `'); DROP TABLE messages; -- <script>alert("x")</script> \u0000?`.replace('\u0000', '');
    const sent = await ws.request('sendMessage', { conversation_id: conversationId, content: nasty });
    expect(sent.data.content).toBe(nasty);
    const page = await server.http.get(`/conversations/${conversationId}/messages`, bob.token);
    expect(page.body.messages.at(-1).content).toBe(nasty);
  });

  it('accepts media with an https attachment and a caption', async () => {
    const sent = await ws.request('sendMessage', {
      conversation_id: conversationId,
      type: 'image',
      attachment: { url: 'https://cdn.example.com/a.png', name: 'a.png', mime_type: 'image/png', size: 1234 },
    });
    expect(sent.data).toMatchObject({ type: 'image', content: '', attachment: { url: 'https://cdn.example.com/a.png', size: 1234 } });
  });

  it('answers binary frames with INVALID_FRAME', async () => {
    const before = ws.frames.length;
    ws.sendRaw(Buffer.from([1, 2, 3]));
    const frame = await ws.waitFor((f) => f.event === 'error' && ws.frames.indexOf(f) >= before);
    expect(frame.error?.code).toBe('INVALID_FRAME');
  });

  it('still works after all of the above, and lost nothing acknowledged', async () => {
    const ok = await ws.request('sendMessage', { conversation_id: conversationId, content: 'still here' });
    expect(ok.event).toBe('ack');
    const page = await server.http.get(`/conversations/${conversationId}/messages?limit=100`, alice.token);
    expect(page.body.messages.map((m: { id: number }) => m.id)).toContain(firstMessageId);
  });
});

describe('frames over the limit', () => {
  it('closes the connection with 1009, and the server keeps serving', async () => {
    const c = await WsClient.connect(server.wsUrl, alice.token);
    c.sendRaw(JSON.stringify({ event: 'sendMessage', data: { conversation_id: conversationId, content: 'x'.repeat(70_000) } }));
    expect((await c.closed).code).toBe(1009);
    const again = await WsClient.connect(server.wsUrl, alice.token);
    expect((await again.request('sendMessage', { conversation_id: conversationId, content: 'after' })).event).toBe('ack');
    again.socket.terminate();
  });

  it('closes a frame of several MiB with 1009 too', async () => {
    const c = await WsClient.connect(server.wsUrl, alice.token);
    c.sendRaw(JSON.stringify({ event: 'sendMessage', data: { conversation_id: conversationId, content: 'x'.repeat(3 * 1024 * 1024) } }));
    expect((await c.closed).code).toBe(1009);
  });

  it(`closes a text frame that is not UTF-8 with ${testTransport() === 'node' ? '1007' : '1006 (uWebSockets.js drops it without a close frame)'}`, async () => {
    const c = await WsClient.connect(server.wsUrl, alice.token);
    // ws refuses to send invalid UTF-8 as text: write a masked text frame on the TCP socket by hand.
    const payload = Buffer.from([0x7b, 0xff, 0xfe, 0x7d]);
    const mask = Buffer.from([1, 2, 3, 4]);
    const frame = Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, payload.map((b, i) => b ^ mask[i % 4]!)]);
    (c.socket as unknown as { _socket: { write(b: Buffer): void } })._socket.write(frame);
    expect((await c.closed).code).toBe(testTransport() === 'node' ? 1007 : 1006);
    const again = await WsClient.connect(server.wsUrl, alice.token);
    expect((await again.request('sendMessage', { conversation_id: conversationId, content: 'after bad bytes' })).event).toBe('ack');
    again.socket.terminate();
  });
});

describe('authentication at the upgrade', () => {
  const refusedWith = async (url: string, headers: Record<string, string> = {}) => {
    try {
      const c = await WsClient.connect(url, undefined, { headers });
      c.socket.terminate();
      return 'opened';
    } catch (error) {
      return (error as { status?: number }).status;
    }
  };
  const forge = async (secret: string, ttl: number, userId: number) =>
    (await new JoseTokenService({ secret, ttlSeconds: 60, clock: { now: () => new Date(Date.now() + ttl * 1000) } }).issue({ userId, sessionId: randomUUID() }))
      .token;

  it('refuses a missing token with 401', async () => {
    expect(await refusedWith(server.wsUrl)).toBe(401);
  });
  it('refuses a garbage token with 401', async () => {
    expect(await refusedWith(`${server.wsUrl}?token=not.a.jwt`)).toBe(401);
  });
  it('refuses a token signed with another secret with 401', async () => {
    expect(await refusedWith(`${server.wsUrl}?token=${await forge('some-other-secret-some-other-secret', 0, alice.id)}`)).toBe(401);
  });
  it('refuses an expired token with 401', async () => {
    expect(await refusedWith(`${server.wsUrl}?token=${await forge(TEST_JWT_SECRET, -3600, alice.id)}`)).toBe(401);
  });
  it('refuses an alg=none token with 401', async () => {
    const [, payload] = alice.token.split('.');
    const none = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${payload}.`;
    expect(await refusedWith(`${server.wsUrl}?token=${none}`)).toBe(401);
  });
  it('accepts the token in an Authorization header', async () => {
    expect(await refusedWith(server.wsUrl, { authorization: `Bearer ${alice.token}` })).toBe('opened');
  });
  it("refuses a deleted user's token, on the upgrade and on REST", async () => {
    const gone = await server.http.register();
    expect((await server.http.del('/users/me', gone.token)).status).toBe(204);
    expect(await refusedWith(`${server.wsUrl}?token=${gone.token}`)).toBe(401);
    const me = await server.http.get('/users/me', gone.token);
    expect(me.status).toBe(401);
    expect(me.body.error.code).toBe('UNAUTHORIZED');
  });
  it('answers an upgrade to an unknown path with 404 and a plain GET of /ws with an error, not a WebSocket', async () => {
    const raw = new WebSocket(server.wsUrl.replace('/ws', '/nowhere'));
    const status = await new Promise((resolve) => {
      raw.once('unexpected-response', (_q, res) => resolve(res.statusCode));
      raw.once('error', () => resolve('error'));
    });
    expect(status).toBe(404);
    const plain = await fetch(`http://127.0.0.1:${server.port}/ws?token=${alice.token}`);
    expect(plain.status).toBeGreaterThanOrEqual(400);
    expect(plain.status).toBeLessThan(500);
    expect(plain.headers.get('upgrade')).toBeNull();
  });

  it('keeps serving while sockets hold half-sent upgrades open, and answers a malformed upgrade with a 4xx', async () => {
    const half = await Promise.all(
      Array.from(
        { length: 20 },
        () =>
          new Promise<net.Socket>((resolve, reject) => {
            const socket = net.connect(server.port, '127.0.0.1', () => {
              socket.write(`GET /ws?token=${alice.token} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n`);
              resolve(socket);
            });
            socket.on('error', reject);
          }),
      ),
    );
    try {
      // With the half-sent upgrades still open, a new client connects and converses.
      const fresh = await WsClient.connect(server.wsUrl, bob.token);
      const sent = await fresh.request('sendMessage', { conversation_id: conversationId, content: 'past the half-open sockets' });
      expect(sent.event).toBe('ack');
      await fresh.close();
      expect(half.every((s) => !s.destroyed)).toBe(true);

      const malformed = await new Promise<string>((resolve, reject) => {
        const socket = net.connect(server.port, '127.0.0.1', () =>
          socket.write(
            `GET /ws?token=${alice.token} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n`,
          ),
        );
        let text = '';
        socket.on('data', (d) => {
          text += d.toString();
          if (!text.includes('\r\n')) return;
          resolve(text.split('\r\n')[0]!);
          socket.destroy();
        });
        socket.on('error', reject);
      });
      expect(malformed).toMatch(/^HTTP\/1\.1 4\d\d/);
    } finally {
      for (const s of half) s.destroy();
    }
    expect((await fetch(`http://127.0.0.1:${server.port}/healthz`)).status).toBe(200);
  });

  it('answers a request that is not a GET but asks to upgrade, on /ws and on Socket.IO’s path, with a status below 500', async () => {
    const statusLine = (path: string) =>
      new Promise<string>((resolve, reject) => {
        const socket = net.connect(server.port, '127.0.0.1', () =>
          socket.write(`OPTIONS ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nConnection: close\r\n\r\n`),
        );
        let text = '';
        socket.on('data', (d) => (text += d.toString()));
        socket.on('close', () => resolve(text.split('\r\n')[0]!));
        socket.on('error', reject);
      });
    for (const path of ['/ws', '/socket.io/?EIO=4&transport=websocket']) {
      expect(await statusLine(path)).toMatch(/^HTTP\/1\.1 [234]\d\d /);
    }
    expect((await fetch(`http://127.0.0.1:${server.port}/healthz`)).status).toBe(200);
  });
});

describe('malformed percent-escapes in the path', () => {
  const raw = (method: string, path: string, token?: string) =>
    new Promise<{ status: number; body: any }>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: server.port, method, path, headers: token ? { authorization: `Bearer ${token}` } : {} }, (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode!, body: text ? JSON.parse(text) : undefined }));
      });
      req.on('error', reject);
      req.end();
    });

  const cases: Array<[string, string]> = [
    ['DELETE', '/messages/%'],
    ['GET', '/conversations/%E0%A4%A'],
    ['DELETE', '/conversations/%/participants/%ZZ'],
  ];
  for (const [method, path] of cases) {
    it(`answers ${method} ${path} with 401, or 400 VALIDATION_FAILED with a token, and keeps serving`, async () => {
      const anonymous = await raw(method, path);
      expect(anonymous.status).toBe(401);
      const authenticated = await raw(method, path, alice.token);
      expect(authenticated.status).toBe(400);
      expect(authenticated.body.error.code).toBe('VALIDATION_FAILED');
      expect((await server.http.get('/healthz')).status).toBe(200);
    });
  }
});
