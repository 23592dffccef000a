import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_INT_ID } from '../../src/application/schemas.js';
import { killAll, startServerProcess } from '../support/server-process.js';
import { connectSocketIo, emitWithAnswer } from '../support/socket-io-client.js';
import { WsClient } from '../support/ws-client.js';

let server: Awaited<ReturnType<typeof startServerProcess>>;
type U = { id: number; token: string };
let alice: U;
let conversationId: number;
let ws: WsClient;
let sio: Socket;

/** A list cursor as the server encodes one: base64url of "<activity µs>.<conversation id>". */
const listCursor = (text: string) => Buffer.from(text).toString('base64url');
const FIRST_UNSAFE = '9007199254740992';

beforeAll(async () => {
  server = await startServerProcess();
  let bob: U;
  [alice, bob] = await Promise.all([server.http.register(), server.http.register()]);
  conversationId = (await server.http.post('/conversations', { participant_ids: [bob.id] }, alice.token)).body.id;
  await server.http.post(`/conversations/${conversationId}/messages`, { content: 'one message to page over' }, alice.token);
  ws = await WsClient.connect(server.wsUrl, alice.token);
  sio = await connectSocketIo(`http://127.0.0.1:${server.port}`, alice.token);
});

afterAll(async () => {
  ws?.socket.terminate();
  sio?.disconnect();
  await server?.stop();
  killAll();
});

describe('cursors and ids beyond their columns answer 400 VALIDATION_FAILED, and the process keeps serving', () => {
  const rest: Array<[string, () => string]> = [
    ['a list cursor whose conversation id overflows an integer', () => `/conversations?cursor=${listCursor('1.9999999999')}`],
    ['a list cursor one past the largest conversation id', () => `/conversations?cursor=${listCursor(`1.${MAX_INT_ID + 1}`)}`],
    ['a list cursor whose time JavaScript cannot count exactly', () => `/conversations?cursor=${listCursor(`${FIRST_UNSAFE}.1`)}`],
    ['a list cursor of 17 digits', () => `/conversations?cursor=${listCursor('99999999999999999.1')}`],
    ['a history page `before` past the exact integers', () => `/conversations/${conversationId}/messages?before=${FIRST_UNSAFE}`],
    ['a history page `after` past the exact integers', () => `/conversations/${conversationId}/messages?after=${FIRST_UNSAFE}`],
    ['a conversation id beyond the column in the history path', () => `/conversations/${MAX_INT_ID + 1}/messages?before=1`],
  ];
  for (const [name, path] of rest) {
    it(`GET ${name}`, async () => {
      const answer = await server.http.get(path(), alice.token);
      expect([answer.status, answer.body.error?.code]).toEqual([400, 'VALIDATION_FAILED']);
      expect((await server.http.get('/conversations', alice.token)).status).toBe(200);
    });
  }

  it('GET the largest values each column holds: answered, not refused', async () => {
    const list = await server.http.get(`/conversations?cursor=${listCursor(`1.${MAX_INT_ID}`)}`, alice.token);
    expect([list.status, list.body.conversations]).toEqual([200, []]);
    const before = await server.http.get(`/conversations/${conversationId}/messages?before=${Number.MAX_SAFE_INTEGER}`, alice.token);
    expect([before.status, before.body.messages.map((m: { content: string }) => m.content)]).toEqual([200, ['one message to page over']]);
    const after = await server.http.get(`/conversations/${conversationId}/messages?after=${Number.MAX_SAFE_INTEGER}`, alice.token);
    expect([after.status, after.body.messages]).toEqual([200, []]);
  });

  const joins: Array<[string, () => unknown]> = [
    ['`since` past the exact integers', () => ({ conversation_id: conversationId, since: Number(FIRST_UNSAFE) })],
    ['`since` as a string of 17 digits', () => ({ conversation_id: conversationId, since: '99999999999999999' })],
    ['a conversation id beyond the column', () => ({ conversation_id: MAX_INT_ID + 1, since: 0 })],
  ];
  for (const [name, data] of joins) {
    it(`/ws joinConversation with ${name}`, async () => {
      const answer = await ws.request('joinConversation', data());
      expect([answer.event, answer.error?.code]).toEqual(['error', 'VALIDATION_FAILED']);
      const fine = await ws.request('joinConversation', { conversation_id: conversationId, since: Number.MAX_SAFE_INTEGER });
      expect([fine.event, fine.data.messages]).toEqual(['ack', []]);
    });

    it(`Socket.IO joinConversation with ${name}`, async () => {
      const answer = await emitWithAnswer(sio, 'joinConversation', data());
      expect([answer.success, answer.error?.code]).toEqual([false, 'VALIDATION_FAILED']);
      const fine = await emitWithAnswer(sio, 'joinConversation', { conversation_id: conversationId, since: Number.MAX_SAFE_INTEGER });
      expect([fine.success, fine.data.messages]).toEqual([true, []]);
    });
  }
});
