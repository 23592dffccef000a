import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/test-server.js';
import { WsClient } from '../support/ws-client.js';

let server: TestServer;
type U = { id: number; token: string; username: string };
let alice: U, bob: U, eve: U;
let conversationId: number;
const clients: WsClient[] = [];
const connect = async (u: U) => {
  const c = await WsClient.connect(server.wsUrl, u.token);
  clients.push(c);
  return c;
};

beforeAll(async () => {
  server = await startTestServer();
  [alice, bob, eve] = await Promise.all([server.http.register(), server.http.register(), server.http.register()]);
  const created = await server.http.post('/conversations', { participant_ids: [bob.id] }, alice.token);
  expect(created.status).toBe(201);
  conversationId = created.body.id;
});

afterAll(async () => {
  for (const c of clients) c.socket.terminate();
  await server?.stop();
});

describe('a direct conversation over the real server', () => {
  it('is direct, unique per pair, and returns the existing one to either side', async () => {
    const again = await server.http.post('/conversations', { participant_ids: [alice.id] }, bob.token);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ id: conversationId, kind: 'direct', is_open: false });
    expect(again.body.participants.map((p: U) => p.id).sort()).toEqual([alice.id, bob.id].sort());
  });

  it('delivers a sent message to every connection of both participants, acknowledged after it is stored', async () => {
    const [a1, a2, b1, e1] = await Promise.all([connect(alice), connect(alice), connect(bob), connect(eve)]);
    const ack = await a1.request('sendMessage', { conversation_id: conversationId, content: 'hello bob', client_id: 'm-1' });
    expect(ack.event).toBe('ack');
    expect(ack.data).toMatchObject({
      conversation: conversationId,
      conversation_id: conversationId,
      sender: { id: alice.id, username: alice.username },
      sender_id: alice.id,
      content: 'hello bob',
      type: 'text',
      attachment: null,
      client_id: 'm-1',
      read_at: null,
      edited_at: null,
    });
    expect(new Date(ack.data.created_at).toISOString()).toBe(ack.data.created_at);
    for (const c of [a1, a2, b1]) {
      const pushed = await c.event('receiveMessage', (d) => d.id === ack.data.id);
      expect(pushed.data).toEqual(ack.data);
    }
    const stored = await server.http.get(`/conversations/${conversationId}/messages`, bob.token);
    expect(stored.body.messages.map((m: { id: number }) => m.id)).toContain(ack.data.id);
    // Eve's own conversation delivers to her: once its message (sent after) is in, the other would have been.
    const eves = (await server.http.post('/conversations', { participant_ids: [eve.id] }, bob.token)).body.id;
    const marker = await server.http.post(`/conversations/${eves}/messages`, { content: 'for eve' }, bob.token);
    await e1.event('receiveMessage', (d) => d.id === marker.body.id);
    expect(e1.received('receiveMessage').map((f) => f.data.id)).toEqual([marker.body.id]);
  });

  it('answers a repeated client_id with the original, without storing or broadcasting it again', async () => {
    const [a, b] = await Promise.all([connect(alice), connect(bob)]);
    const first = await a.request('sendMessage', { conversation_id: conversationId, content: 'once', client_id: 'dup-1' });
    const second = await a.request('sendMessage', { conversation_id: conversationId, content: 'once', client_id: 'dup-1' });
    expect(second.data.id).toBe(first.data.id);
    await b.event('receiveMessage', (d) => d.id === first.data.id);
    // The same content without a client_id is another message (the duplicate guard compares sends without one).
    const third = await a.request('sendMessage', { conversation_id: conversationId, content: 'once' });
    const fourth = await a.request('sendMessage', { conversation_id: conversationId, content: 'once more' });
    expect(third.data.id).toBeGreaterThan(first.data.id);
    expect(fourth.data.id).toBeGreaterThan(third.data.id);
    // Both arrived after the repeat was answered: a second broadcast of dup-1 would have come before them.
    await b.event('receiveMessage', (d) => d.id === fourth.data.id);
    expect(b.received('receiveMessage').filter((f) => f.data.client_id === 'dup-1')).toHaveLength(1);
  });

  it('catches up with joinConversation since the last id seen, in ascending order', async () => {
    const a = await connect(alice);
    const base = await a.request('sendMessage', { conversation_id: conversationId, content: 'base' });
    const sent: number[] = [];
    for (let i = 0; i < 5; i++) sent.push((await a.request('sendMessage', { conversation_id: conversationId, content: `m${i}` })).data.id);
    const b = await connect(bob);
    const joined = await b.request('joinConversation', { conversation_id: conversationId, since: base.data.id });
    expect(joined.event).toBe('ack');
    expect(joined.data.conversation).toMatchObject({ id: conversationId, kind: 'direct' });
    expect(joined.data.messages.map((m: { id: number }) => m.id)).toEqual(sent);
    expect(joined.data.has_more).toBe(false);
  });

  it('edits and deletes: only the sender, and participants are told', async () => {
    const [a, b] = await Promise.all([connect(alice), connect(bob)]);
    const msg = (await a.request('sendMessage', { conversation_id: conversationId, content: 'typo' })).data;
    const notMine = await b.request('editMessage', { message_id: msg.id, content: 'hijack' });
    expect(notMine.error?.code).toBe('NOT_MESSAGE_SENDER');
    const outsider = await (await connect(eve)).request('editMessage', { message_id: msg.id, content: 'hijack' });
    expect(outsider.error).toEqual({ code: 'MESSAGE_NOT_FOUND', message: `Message ${msg.id} does not exist` });
    const edited = await a.request('editMessage', { message_id: msg.id, content: 'fixed' });
    expect(edited.data).toMatchObject({ id: msg.id, content: 'fixed' });
    expect(edited.data.edited_at).not.toBeNull();
    expect((await b.event('messageUpdated', (d) => d.id === msg.id)).data.content).toBe('fixed');

    expect((await b.request('deleteMessage', { message_id: msg.id })).error?.code).toBe('NOT_MESSAGE_SENDER');
    const deleted = await a.request('deleteMessage', { message_id: msg.id });
    expect(deleted.data).toEqual({ id: msg.id });
    const pushed = await b.event('messageDeleted', (d) => d.id === msg.id);
    expect(pushed.data).toMatchObject({ id: msg.id, conversation_id: conversationId });
    expect(typeof pushed.data.deleted_at).toBe('string');
    const page = await server.http.get(`/conversations/${conversationId}/messages?limit=100`, alice.token);
    expect(page.body.messages.map((m: { id: number }) => m.id)).not.toContain(msg.id);
    expect((await a.request('editMessage', { message_id: msg.id, content: 'ghost' })).error?.code).toBe('MESSAGE_NOT_FOUND');
  });

  it('marks read: the reader gets the receipt, the other side a readReceipt, and read_at is set on what others sent', async () => {
    const [a, b] = await Promise.all([connect(alice), connect(bob)]);
    const m1 = (await a.request('sendMessage', { conversation_id: conversationId, content: 'read me' })).data;
    const before = await server.http.get('/conversations', bob.token);
    expect(before.body.conversations[0].unread_count).toBeGreaterThan(0);
    const receipt = await b.request('markRead', { conversation_id: conversationId, message_id: m1.id });
    expect(receipt.data).toMatchObject({ conversation_id: conversationId, message_id: m1.id });
    const pushed = await a.event('readReceipt', (d) => d.message_id === m1.id);
    expect(pushed.data).toEqual({ ...receipt.data, user_id: bob.id });
    const page = await server.http.get(`/conversations/${conversationId}/messages?after=${m1.id - 1}`, alice.token);
    expect(page.body.messages[0]).toMatchObject({ id: m1.id, read_at: receipt.data.read_at });
    const after = await server.http.get('/conversations', bob.token);
    expect(after.body.conversations[0]).toMatchObject({ id: conversationId, unread_count: 0, last_message: { id: m1.id } });
  });

  it('keeps a third user out of reading and writing, answering exactly as for a conversation that does not exist', async () => {
    const e = await connect(eve);
    const missing = 2_000_000_000;
    // The same code and message (bar the id) for an existing conversation and a missing one, on /ws and REST.
    const answers = async (id: number) => [
      (await e.request('sendMessage', { conversation_id: id, content: 'let me in' })).error,
      (await e.request('joinConversation', { conversation_id: id })).error,
      (await e.request('markRead', { conversation_id: id, message_id: 1 })).error,
      (await e.request('typing', { conversation_id: id })).error,
      (await e.request('leaveConversation', { conversation_id: id })).error,
      (await server.http.get(`/conversations/${id}`, eve.token)).body,
      (await server.http.get(`/conversations/${id}/messages`, eve.token)).body,
      (await server.http.get(`/conversations/${id}/participants`, eve.token)).body,
      (await server.http.post(`/conversations/${id}/messages`, { content: 'x' }, eve.token)).body,
      (await server.http.post(`/conversations/${id}/read`, { message_id: 1 }, eve.token)).body,
      (await server.http.post(`/conversations/${id}/participants`, { user_id: eve.id }, eve.token)).body,
      (await server.http.del(`/conversations/${id}/participants/${eve.id}`, eve.token)).body,
    ];
    const existing = JSON.stringify(await answers(conversationId)).replaceAll(String(conversationId), 'ID');
    const absent = JSON.stringify(await answers(missing)).replaceAll(String(missing), 'ID');
    expect(existing).toBe(absent);
    expect(JSON.parse(existing)[0]).toEqual({ code: 'CONVERSATION_NOT_FOUND', message: 'Conversation ID does not exist' });
    expect((await server.http.get(`/conversations/${conversationId}`, eve.token)).status).toBe(404);
    const list = await server.http.get('/conversations', eve.token);
    expect(list.body.conversations.map((c: { id: number }) => c.id)).not.toContain(conversationId);
  });
});

describe('groups and membership changes', () => {
  it('starts and stops delivery to a member’s open connections the moment they are added or removed', async () => {
    const [carol, dave] = [await server.http.register(), await server.http.register()];
    const group = await server.http.post('/conversations', { participant_ids: [carol.id], title: 'Flat 4' }, alice.token);
    expect(group.status).toBe(201);
    expect(group.body).toMatchObject({ kind: 'group', title: 'Flat 4', is_open: false, created_by: alice.id });
    const [a, d] = await Promise.all([connect(alice), connect(dave)]);

    const added = await server.http.post(`/conversations/${group.body.id}/participants`, { user_id: dave.id }, carol.token);
    expect(added.status).toBe(200);
    await d.event('participantAdded', (x) => x.conversation_id === group.body.id && x.user.id === dave.id);
    const m = await a.request('sendMessage', { conversation_id: group.body.id, content: 'welcome dave' });
    await d.event('receiveMessage', (x) => x.id === m.data.id);

    // Only the creator removes others.
    const byCarol = await server.http.del(`/conversations/${group.body.id}/participants/${dave.id}`, carol.token);
    expect(byCarol.status).toBe(403);
    const byAlice = await server.http.del(`/conversations/${group.body.id}/participants/${dave.id}`, alice.token);
    expect(byAlice.status).toBe(200);
    await d.event('participantRemoved', (x) => x.user_id === dave.id);
    const after = await a.request('sendMessage', { conversation_id: group.body.id, content: 'dave is gone' });
    // Dave still receives his own conversations: one sent after proves the group's message was not for him.
    const daves = (await server.http.post('/conversations', { participant_ids: [dave.id] }, alice.token)).body.id;
    const marker = await server.http.post(`/conversations/${daves}/messages`, { content: 'for dave' }, alice.token);
    await d.event('receiveMessage', (x) => x.id === marker.body.id);
    expect(d.received('receiveMessage').map((f) => f.data.id)).not.toContain(after.data.id);
    expect((await d.request('sendMessage', { conversation_id: group.body.id, content: 'hey' })).error?.code).toBe('CONVERSATION_NOT_FOUND');
  });

  it('lets anyone join an open group, nobody a closed one, and members leave by themselves', async () => {
    const [carol, dave] = [await server.http.register(), await server.http.register()];
    const open = await server.http.post('/conversations', { participant_ids: [carol.id], title: 'Open house', is_open: true }, alice.token);
    const closed = await server.http.post('/conversations', { participant_ids: [carol.id], title: 'Private' }, alice.token);
    const d = await connect(dave);
    expect((await d.request('joinConversation', { conversation_id: closed.body.id })).error?.code).toBe('CONVERSATION_NOT_FOUND');
    expect((await server.http.post(`/conversations/${closed.body.id}/participants`, { user_id: dave.id }, dave.token)).body.error.code).toBe(
      'CONVERSATION_NOT_FOUND',
    );
    const joined = await d.request('joinConversation', { conversation_id: open.body.id });
    expect(joined.event).toBe('ack');
    expect(joined.data.conversation.participants.map((p: U) => p.id)).toContain(dave.id);
    const a = await connect(alice);
    const m = await a.request('sendMessage', { conversation_id: open.body.id, content: 'hi all' });
    await d.event('receiveMessage', (x) => x.id === m.data.id);
    const left = await d.request('leaveConversation', { conversation_id: open.body.id });
    expect(left.data).toEqual({ conversation_id: open.body.id, user_id: dave.id });
    expect((await d.request('leaveConversation', { conversation_id: conversationId })).error?.code).toBe('CONVERSATION_NOT_FOUND');
    const b = await connect(bob);
    expect((await b.request('leaveConversation', { conversation_id: conversationId })).error?.code).toBe('NOT_A_GROUP');
  });

  it('lists conversations by most recent activity with last_message and unread_count', async () => {
    const [x, y, z] = [await server.http.register(), await server.http.register(), await server.http.register()];
    const first = await server.http.post('/conversations', { participant_ids: [y.id] }, x.token);
    const second = await server.http.post('/conversations', { participant_ids: [z.id] }, x.token);
    const ws = await connect(y);
    await ws.request('sendMessage', { conversation_id: first.body.id, content: 'newest' });
    const list = await server.http.get('/conversations', x.token);
    expect(list.body.conversations.map((c: { id: number }) => c.id)).toEqual([first.body.id, second.body.id]);
    expect(list.body.conversations[0]).toMatchObject({ unread_count: 1, last_message: { content: 'newest' } });
    expect(list.body.conversations[1]).toMatchObject({ unread_count: 0, last_message: null });
  });
});
