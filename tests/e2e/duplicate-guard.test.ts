import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectSocketIo, emitWithAnswer } from '../support/socket-io-client.js';
import { eventually } from '../support/eventually.js';
import { startTestServer, type TestServer } from '../support/test-server.js';
import { WsClient } from '../support/ws-client.js';

let guarded: TestServer;
let plain: TestServer;
const sockets: Socket[] = [];
const clients: WsClient[] = [];

beforeAll(async () => {
  // The guard's default (5 s, as the original backend) on one server, turned off on the other.
  [guarded, plain] = await Promise.all([startTestServer(), startTestServer({ DUPLICATE_WINDOW_SECONDS: '0' })]);
});
afterAll(async () => {
  for (const s of sockets) s.disconnect();
  for (const c of clients) c.socket.terminate();
  await Promise.all([guarded?.stop(), plain?.stop()]);
});

/** Two users in a direct conversation, the receiver's /ws connection recording what it is pushed. */
async function setUp(server: TestServer) {
  const [alice, bob] = await Promise.all([server.http.register(), server.http.register()]);
  const conversationId = (await server.http.post('/conversations', { participant_ids: [bob.id] }, alice.token)).body.id as number;
  const receiver = await WsClient.connect(server.wsUrl, bob.token);
  clients.push(receiver);
  const sender = await connectSocketIo(`http://127.0.0.1:${server.port}`, alice.token);
  sockets.push(sender);
  const pushed = () => receiver.received('receiveMessage').map((f) => f.data.content as string);
  return { alice, conversationId, receiver, sender, pushed };
}

describe('DUPLICATE_WINDOW_SECONDS', () => {
  it('by default answers a repeated send without client_id with the first message on Socket.IO, REST and /ws, stores and pushes it once', async () => {
    const { alice, conversationId, receiver, sender, pushed } = await setUp(guarded);
    const send = { conversation_id: conversationId, content: 'sent twice by an old client', type: 'text' };
    const first = await emitWithAnswer(sender, 'sendMessage', send);
    const again = await emitWithAnswer(sender, 'sendMessage', send);
    expect(first.success && again.success).toBe(true);
    expect(again.message).toEqual(first.message);

    const rest = await guarded.http.post(`/conversations/${conversationId}/messages`, { content: 'sent twice by an old client' }, alice.token);
    expect(rest.status).toBe(200);
    expect(rest.body.id).toBe(first.message.id);

    const ws = await WsClient.connect(guarded.wsUrl, alice.token);
    clients.push(ws);
    const native = await ws.request('sendMessage', { conversation_id: conversationId, content: 'sent twice by an old client' });
    expect([native.event, native.data.id]).toEqual(['ack', first.message.id]);

    // A different message proves the pushes are through: the repeats were never pushed.
    await emitWithAnswer(sender, 'sendMessage', { conversation_id: conversationId, content: 'something else', type: 'text' });
    await receiver.event('receiveMessage', (m) => m.content === 'something else');
    expect(pushed()).toEqual(['sent twice by an old client', 'something else']);
    const history = await guarded.http.get(`/conversations/${conversationId}/messages`, alice.token);
    expect(history.body.messages.map((m: { content: string }) => m.content)).toEqual(['sent twice by an old client', 'something else']);
  });

  it('leaves sends with a client_id to their idempotency: a new client_id is a new message, a repeated one its original', async () => {
    const { alice, conversationId } = await setUp(guarded);
    const path = `/conversations/${conversationId}/messages`;
    const bare = await guarded.http.post(path, { content: 'same words' }, alice.token);
    const keyed = await guarded.http.post(path, { content: 'same words', client_id: 'k-1' }, alice.token);
    const otherKey = await guarded.http.post(path, { content: 'same words', client_id: 'k-2' }, alice.token);
    const keyedAgain = await guarded.http.post(path, { content: 'same words', client_id: 'k-1' }, alice.token);
    expect([bare.status, keyed.status, otherKey.status, keyedAgain.status]).toEqual([201, 201, 201, 200]);
    expect(new Set([bare.body.id, keyed.body.id, otherKey.body.id]).size).toBe(3);
    expect(keyedAgain.body.id).toBe(keyed.body.id);
  });

  it('DUPLICATE_WINDOW_SECONDS=0 turns it off: the same content twice is two messages', async () => {
    const { conversationId, sender, pushed } = await setUp(plain);
    const send = { conversation_id: conversationId, content: 'ha', type: 'text' };
    const first = await emitWithAnswer(sender, 'sendMessage', send);
    const again = await emitWithAnswer(sender, 'sendMessage', send);
    expect(again.message.id).toBeGreaterThan(first.message.id);
    await eventually(() => pushed().length === 2);
    expect(pushed()).toEqual(['ha', 'ha']);
  });
});
