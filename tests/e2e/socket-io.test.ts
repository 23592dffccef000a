import { io as connectIo, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killAll, startServerProcess } from '../support/server-process.js';
import { eventually } from '../support/eventually.js';
import { WsClient } from '../support/ws-client.js';

let server: Awaited<ReturnType<typeof startServerProcess>>;
type U = { id: number; token: string; username: string };
let alice: U, bob: U, eve: U;
let conversationId: number;
let outsiderConversationId: number;
const sockets: Socket[] = [];

/** A socket.io-client connection, as the original web and mobile clients make it (with a token in the query). */
function connect(options: { token?: string; query?: Record<string, string>; transports?: string[] }): Promise<Socket> {
  const socket = connectIo(`http://127.0.0.1:${server.port}`, {
    query: { ...(options.token ? { token: options.token } : {}), ...options.query },
    transports: options.transports ?? ['websocket'],
    reconnection: false,
    forceNew: true,
  });
  sockets.push(socket);
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', reject);
  });
}
const emit = (socket: Socket, event: string, data: unknown): Promise<any> => new Promise((resolve) => socket.emit(event, data, resolve));
const next = (socket: Socket, event: string, match: (d: any) => boolean = () => true, ms = 5_000): Promise<any> =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within ${ms} ms`)), ms);
    const handler = (d: any) => {
      if (!match(d)) return;
      clearTimeout(timer);
      socket.off(event, handler);
      resolve(d);
    };
    socket.on(event, handler);
  });
const recorder = (socket: Socket) => {
  const seen: Array<[string, any]> = [];
  socket.onAny((event, data) => seen.push([event, data]));
  return seen;
};

beforeAll(async () => {
  server = await startServerProcess({ MAX_FRAME_BYTES: '65536' });
  [alice, bob, eve] = await Promise.all([server.http.register(), server.http.register(), server.http.register()]);
  conversationId = (await server.http.post('/conversations', { participant_ids: [bob.id] }, alice.token)).body.id;
  outsiderConversationId = (await server.http.post('/conversations', { participant_ids: [eve.id] }, alice.token)).body.id;
});
afterAll(async () => {
  for (const s of sockets) s.disconnect();
  await server?.stop();
  killAll();
});

describe('the original Socket.IO client flow', () => {
  it('connects with a token, sends with a callback, and the other participant receives it', async () => {
    const [a, b] = await Promise.all([connect({ token: alice.token }), connect({ token: bob.token })]);
    const pushed = next(b, 'receiveMessage', (m) => m.content === 'from the old app');
    const answer = await emit(a, 'sendMessage', { conversation_id: String(conversationId), content: 'from the old app', type: 'text' });
    expect(answer.success).toBe(true);
    expect(answer.message).toMatchObject({ conversation: conversationId, sender: { id: alice.id }, content: 'from the old app' });
    expect(await pushed).toEqual(answer.message);
  });

  it('works over HTTP long-polling too', async () => {
    const b = await connect({ token: bob.token, transports: ['polling'] });
    const pushed = next(b, 'receiveMessage', (m) => m.content === 'to a polling client');
    const a = await connect({ token: alice.token });
    expect((await emit(a, 'sendMessage', { conversation_id: conversationId, content: 'to a polling client' })).success).toBe(true);
    await pushed;
    b.disconnect();
    a.disconnect();
  });
});

describe('one conversation across both protocols', () => {
  it('delivers native → Socket.IO and Socket.IO → native, every event, and nothing to outsiders', async () => {
    const native = await WsClient.connect(server.wsUrl, alice.token);
    const sio = await connect({ token: bob.token });
    const outsiderSio = await connect({ token: eve.token });
    const outsiderWs = await WsClient.connect(server.wsUrl, eve.token);
    const outsiderSeen = recorder(outsiderSio);

    const fromNative = next(sio, 'receiveMessage', (m) => m.content === 'native says hi');
    const sent = await native.request('sendMessage', { conversation_id: conversationId, content: 'native says hi' });
    expect(await fromNative).toEqual(sent.data);

    const answer = await emit(sio, 'sendMessage', { conversation_id: conversationId, content: 'socket.io says hi', client_id: 'sio-1' });
    const pushed = await native.event('receiveMessage', (d) => d.id === answer.message.id);
    expect(pushed.data).toEqual(answer.message);
    const repeat = await emit(sio, 'sendMessage', { conversation_id: conversationId, content: 'socket.io says hi', client_id: 'sio-1' });
    expect(repeat.message.id).toBe(answer.message.id);

    const updated = next(sio, 'messageUpdated', (m) => m.id === sent.data.id);
    await native.request('editMessage', { message_id: sent.data.id, content: 'native, edited' });
    expect((await updated).content).toBe('native, edited');
    const edit = await emit(sio, 'editMessage', { message_id: answer.message.id, content: 'socket.io, edited' });
    expect(edit).toMatchObject({ success: true, data: { content: 'socket.io, edited' } });
    await native.event('messageUpdated', (d) => d.id === answer.message.id);

    const receipt = await emit(sio, 'markRead', { conversation_id: conversationId, message_id: sent.data.id });
    expect(receipt).toMatchObject({ success: true, data: { message_id: sent.data.id } });
    await native.event('readReceipt', (d) => d.user_id === bob.id && d.message_id === sent.data.id);

    const deleted = next(sio, 'messageDeleted', (d) => d.id === sent.data.id);
    await native.request('deleteMessage', { message_id: sent.data.id });
    expect((await deleted).conversation_id).toBe(conversationId);
    expect(await emit(sio, 'deleteMessage', { message_id: answer.message.id })).toEqual({ success: true, data: { id: answer.message.id } });

    const joined = await emit(sio, 'joinConversation', { conversation_id: conversationId, since: 0 });
    expect(joined.success).toBe(true);
    expect(joined.data.messages.length).toBeGreaterThan(0);

    // Proof that the outsiders' connections deliver: a message in their own conversation reaches both,
    // and it is the only thing either of them ever received.
    const own = (await server.http.post(`/conversations/${outsiderConversationId}/messages`, { content: 'for eve' }, alice.token)).body;
    await eventually(() => outsiderSeen.some(([event, data]) => event === 'receiveMessage' && data.id === own.id));
    await outsiderWs.event('receiveMessage', (d) => d.id === own.id);
    // (Presence of the people they share a conversation with is theirs to see.)
    const seenBy = (events: Array<[string, any]>) => events.filter(([event]) => event !== 'presence').map(([event, data]) => [event, data.id]);
    expect(seenBy(outsiderSeen)).toEqual([['receiveMessage', own.id]]);
    expect(seenBy(outsiderWs.frames.map((f) => [f.event, f.data]))).toEqual([['receiveMessage', own.id]]);
    native.socket.terminate();
    outsiderWs.socket.terminate();
  });

  it('moves Socket.IO clients in and out of a group as they are added and removed', async () => {
    const carol = await server.http.register();
    const group = (await server.http.post('/conversations', { participant_ids: [bob.id], title: 'mixed' }, alice.token)).body;
    const c = await connect({ token: carol.token });
    const added = next(c, 'participantAdded', (d) => d.user.id === carol.id);
    await server.http.post(`/conversations/${group.id}/participants`, { user_id: carol.id }, alice.token);
    await added;
    const got = next(c, 'receiveMessage', (m) => m.content === 'hello carol');
    await server.http.post(`/conversations/${group.id}/messages`, { content: 'hello carol' }, alice.token);
    await got;
    const removed = next(c, 'participantRemoved', (d) => d.user_id === carol.id);
    await server.http.del(`/conversations/${group.id}/participants/${carol.id}`, alice.token);
    await removed;
    const seen = recorder(c);
    await server.http.post(`/conversations/${group.id}/messages`, { content: 'carol left' }, alice.token);
    // Carol still receives her own direct conversation, so its message proves the one above was not delivered.
    const direct = (await server.http.post('/conversations', { participant_ids: [carol.id] }, alice.token)).body;
    const own = (await server.http.post(`/conversations/${direct.id}/messages`, { content: 'still yours' }, alice.token)).body;
    await eventually(() => seen.some(([event, data]) => event === 'receiveMessage' && data.id === own.id));
    expect(seen.filter(([event]) => event === 'receiveMessage').map(([, data]) => data.id)).toEqual([own.id]);
  });
});

describe('bad input over Socket.IO', () => {
  it('answers the Engine.IO handshake with 401, opening no session, for a bare userId and a forged token; a client with no token at all gets connect_error UNAUTHORIZED', async () => {
    type Refusal = Error & { description?: unknown; data?: { code?: string } };
    const refused = (options: Parameters<typeof connect>[0]) =>
      connect({ ...options, transports: ['polling'] }).then(
        () => 'connected',
        (e: Refusal) => e.description ?? e.data?.code,
      );
    expect(await refused({ query: { userId: String(alice.id) } })).toBe(401);
    expect(await refused({})).toBe('UNAUTHORIZED');
    expect(await refused({ token: `${alice.token}x` })).toBe(401);
    const handshake = (query: string) => fetch(`http://127.0.0.1:${server.port}/socket.io/?EIO=4&transport=polling&${query}`);
    const bare = await handshake(`userId=${alice.id}`);
    expect(bare.status).toBe(401);
    expect(((await bare.json()) as { error: unknown }).error).toMatchObject({ code: 'UNAUTHORIZED', message: expect.stringMatching(/userId/) });
    const forged = await handshake(`token=${alice.token}x`);
    expect(forged.status).toBe(401);
    expect(((await forged.json()) as { error: { code: string } }).error.code).toBe('UNAUTHORIZED');
    // The same handshake with the real token opens a session (the 401s above are not a broken endpoint).
    const opened = await handshake(`token=${alice.token}`);
    expect(opened.status).toBe(200);
    expect(await opened.text()).toMatch(/"sid":/);
  });

  it('refuses a WebSocket-only client without a token (connect_error UNAUTHORIZED), and accepts it with one', async () => {
    await expect(connect({})).rejects.toMatchObject({ data: { code: 'UNAUTHORIZED' } });
    expect((await connect({ token: alice.token })).connected).toBe(true);
  });

  it('answers malformed payloads, wrong types, unknown ids, outsiders and oversize content with a code', async () => {
    const a = await connect({ token: alice.token });
    const e = await connect({ token: eve.token });
    const code = async (s: Socket, event: string, data: unknown) => (await emit(s, event, data)).error?.code;
    expect(await code(a, 'sendMessage', 'not an object')).toBe('VALIDATION_FAILED');
    expect(await code(a, 'sendMessage', [1, 2])).toBe('VALIDATION_FAILED');
    expect(await code(a, 'sendMessage', { conversation_id: 'abc', content: 'x' })).toBe('VALIDATION_FAILED');
    expect(await code(a, 'sendMessage', { conversation_id: conversationId, content: 42 })).toBe('VALIDATION_FAILED');
    expect(await code(a, 'sendMessage', { conversation_id: 999_999, content: 'x' })).toBe('CONVERSATION_NOT_FOUND');
    expect(await code(a, 'sendMessage', { conversation_id: conversationId, content: 'x'.repeat(10_001) })).toBe('CONTENT_TOO_LONG');
    expect(await code(a, 'sendMessage', { conversation_id: conversationId, type: 'image', attachment: { url: 'ftp://x/y' } })).toBe('VALIDATION_FAILED');
    expect(await code(a, 'teleport', {})).toBe('UNKNOWN_EVENT');
    expect(await code(e, 'sendMessage', { conversation_id: conversationId, content: 'let me in' })).toBe('CONVERSATION_NOT_FOUND');
    expect(await code(e, 'joinConversation', { conversation_id: conversationId })).toBe('CONVERSATION_NOT_FOUND');
    // An emit without a callback is not an error, and the connection keeps working.
    a.emit('sendMessage', { conversation_id: 'junk' });
    expect((await emit(a, 'sendMessage', { conversation_id: conversationId, content: 'still fine' })).success).toBe(true);
  });

  it('disconnects a client whose packet is over the size limit, and keeps serving others', async () => {
    const big = await connect({ token: alice.token });
    const gone = new Promise((resolve) => big.once('disconnect', resolve));
    big.emit('sendMessage', { conversation_id: conversationId, content: 'x'.repeat(70_000) }, () => undefined);
    expect(await gone).toBeTruthy();
    const ok = await connect({ token: alice.token });
    expect((await emit(ok, 'sendMessage', { conversation_id: conversationId, content: 'after' })).success).toBe(true);
  });

  it('can be switched off', async () => {
    const off = await startServerProcess({ SOCKETIO_ENABLED: 'false' });
    try {
      const socket = connectIo(`http://127.0.0.1:${off.port}`, {
        query: { token: alice.token },
        transports: ['websocket'],
        reconnection: false,
        forceNew: true,
      });
      const outcome = await new Promise((resolve) => {
        socket.once('connect', () => resolve('connected'));
        socket.once('connect_error', () => resolve('refused'));
      });
      socket.disconnect();
      expect(outcome).toBe('refused');
    } finally {
      await off.stop();
    }
  });
});
