import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectSocketIo, emitWithAnswer, nextEvent } from '../support/socket-io-client.js';
import { startTestServer, type TestServer } from '../support/test-server.js';
import { WsClient } from '../support/ws-client.js';

let server: TestServer;
type U = { id: number; token: string; username: string };
let alice: U, bob: U;
let conversationId: number;
let ws: WsClient;
let bobWs: WsClient;
const sockets: Socket[] = [];

beforeAll(async () => {
  server = await startTestServer();
  [alice, bob] = await Promise.all([server.http.register(), server.http.register()]);
  conversationId = (await server.http.post('/conversations', { participant_ids: [bob.id] }, alice.token)).body.id;
  [ws, bobWs] = await Promise.all([WsClient.connect(server.wsUrl, alice.token), WsClient.connect(server.wsUrl, bob.token)]);
});

afterAll(async () => {
  for (const s of sockets) s.disconnect();
  ws?.socket.terminate();
  bobWs?.socket.terminate();
  await server?.stop();
});

const url = (name: string) => `https://cdn.example.com/uploads/${name}`;

/** The original clients sent media as `{content: <url>, type}` with no attachment. */
describe('media with the URL as content and no attachment', () => {
  it('is stored with the URL as its attachment, content kept, on /ws; the other participant gets the same', async () => {
    const sent = await ws.request('sendMessage', { conversation_id: conversationId, content: url('a.png'), type: 'image' });
    expect(sent.event).toBe('ack');
    expect(sent.data).toMatchObject({ type: 'image', content: url('a.png'), attachment: { url: url('a.png') } });
    const pushed = await bobWs.event('receiveMessage', (m) => m.id === sent.data.id);
    expect(pushed.data).toEqual(sent.data);
  });

  it('is accepted over REST, and reads back the same in the history', async () => {
    const res = await server.http.post(`/conversations/${conversationId}/messages`, { content: url('clip.mp4'), type: 'video' }, alice.token);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ type: 'video', content: url('clip.mp4'), attachment: { url: url('clip.mp4') } });
    const page = await server.http.get(`/conversations/${conversationId}/messages?limit=1`, bob.token);
    expect(page.body.messages).toEqual([res.body]);
  });

  it('is accepted from a Socket.IO client, answered through the callback and pushed as receiveMessage', async () => {
    const [a, b] = await Promise.all([
      connectSocketIo(`http://127.0.0.1:${server.port}`, alice.token),
      connectSocketIo(`http://127.0.0.1:${server.port}`, bob.token),
    ]);
    sockets.push(a, b);
    const pushed = nextEvent(b, 'receiveMessage', (m) => m.content === url('doc.pdf'));
    const answer = await emitWithAnswer(a, 'sendMessage', { conversation_id: conversationId, content: url('doc.pdf'), type: 'file' });
    expect(answer).toMatchObject({ success: true, message: { type: 'file', content: url('doc.pdf'), attachment: { url: url('doc.pdf') } } });
    expect(await pushed).toEqual(answer.message);
  });

  it('keeps an explicit attachment as given, with the content as its caption', async () => {
    const sent = await ws.request('sendMessage', {
      conversation_id: conversationId,
      content: 'look',
      type: 'image',
      attachment: { url: url('b.png'), name: 'b.png' },
    });
    expect(sent.data).toMatchObject({ content: 'look', attachment: { url: url('b.png'), name: 'b.png' } });
  });

  it('refuses content that is not an http(s) URL on every endpoint, storing nothing', async () => {
    const before = (await server.http.get(`/conversations/${conversationId}/messages?limit=1`, alice.token)).body.messages[0].id;
    for (const content of ['not a url', 'javascript:alert(1)', 'ftp://cdn.example.com/a.png', '/uploads/a.png', '']) {
      const frame = await ws.request('sendMessage', { conversation_id: conversationId, content, type: 'image' });
      expect([content, frame.event, frame.error?.code]).toEqual([content, 'error', 'VALIDATION_FAILED']);
      const rest = await server.http.post(`/conversations/${conversationId}/messages`, { content, type: 'file' }, alice.token);
      expect([content, rest.status, rest.body.error.code]).toEqual([content, 400, 'VALIDATION_FAILED']);
    }
    const a = await connectSocketIo(`http://127.0.0.1:${server.port}`, alice.token);
    sockets.push(a);
    expect(await emitWithAnswer(a, 'sendMessage', { conversation_id: conversationId, content: 'file:///etc/passwd', type: 'image' })).toMatchObject({
      success: false,
      error: { code: 'VALIDATION_FAILED' },
    });
    const after = (await server.http.get(`/conversations/${conversationId}/messages?limit=1`, alice.token)).body.messages[0].id;
    expect(after).toBe(before);
  });
});
