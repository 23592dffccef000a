import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase } from '../support/database.js';
import { HttpClient } from '../support/http-client.js';
import { killAll, PROCESS_TEST_ENV, startProcess, type ServerProcess } from '../support/server-process.js';
import { connectSocketIo, emitWithAnswer } from '../support/socket-io-client.js';
import { WsClient, type Frame } from '../support/ws-client.js';

/** The events every kind of change is pushed as (presence and typing are not replayed). */
const REPLAYED = new Set(['receiveMessage', 'messageUpdated', 'messageDeleted', 'readReceipt', 'participantAdded', 'participantRemoved']);

/** Two server processes on one database: every change goes through the first, the catch-up through the second. */
describe('catch-up of every kind of change, across two processes', () => {
  let first: ServerProcess;
  let second: ServerProcess;
  let http1: HttpClient;
  let http2: HttpClient;

  beforeAll(async () => {
    const env = { ...PROCESS_TEST_ENV, DATABASE_URL: await freshDatabase('replay') };
    [first, second] = await Promise.all([startProcess(env), startProcess(env)]);
    http1 = new HttpClient(`http://127.0.0.1:${first.port}`);
    http2 = new HttpClient(`http://127.0.0.1:${second.port}`);
  }, 60_000);
  afterAll(() => killAll());

  /** While b is away, a changes the conversation in every way there is; returns what b should be told, in order. */
  async function changesWhileAway(conversationId: number, a: { token: string; id: number }, c: { id: number; username: string }) {
    const post = (text: string) => http1.post(`/conversations/${conversationId}/messages`, { content: text }, a.token);
    const m1 = (await post('first')).body;
    expect((await http1.patch(`/messages/${m1.id}`, { content: 'first, edited' }, a.token)).status).toBe(200);
    const m2 = (await post('second')).body;
    expect((await http1.post(`/conversations/${conversationId}/read`, { message_id: m2.id }, a.token)).status).toBe(200);
    expect((await http1.post(`/conversations/${conversationId}/participants`, { user_id: c.id }, a.token)).status).toBe(200);
    expect((await http1.del(`/messages/${m2.id}`, a.token)).status).toBe(200);
    expect((await http1.del(`/conversations/${conversationId}/participants/${c.id}`, a.token)).status).toBe(200);
    const m3 = (await post('third')).body;
    return [
      { event: 'receiveMessage', data: expect.objectContaining({ id: m1.id, content: 'first, edited' }) },
      { event: 'messageUpdated', data: expect.objectContaining({ id: m1.id, content: 'first, edited' }) },
      { event: 'readReceipt', data: { conversation_id: conversationId, user_id: a.id, message_id: m2.id, read_at: expect.any(String) } },
      { event: 'participantAdded', data: { conversation_id: conversationId, user: { id: c.id, username: c.username }, added_by: a.id } },
      { event: 'messageDeleted', data: { id: m2.id, conversation_id: conversationId, deleted_at: expect.any(String) } },
      { event: 'participantRemoved', data: { conversation_id: conversationId, user_id: c.id, removed_by: a.id } },
      { event: 'receiveMessage', data: expect.objectContaining({ id: m3.id, content: 'third' }) },
    ];
  }

  it('replays the missed messages, edits, deletions, read receipts and membership changes in order on joinConversation {since}, and GET /sync returns the same', async () => {
    const [a, b, c] = [await http1.register(), await http1.register(), await http1.register()];
    const group = (await http1.post('/conversations', { participant_ids: [b.id], title: 'flat 3' }, a.token)).body;
    const seen = (await http1.post(`/conversations/${group.id}/messages`, { content: 'seen before going away' }, a.token)).body;
    const cursor = (await http2.get(`/sync`, b.token)).body.next_cursor as string;

    const expected = await changesWhileAway(group.id, a, c);

    // Back, on the other process: the replay is pushed before the answer, exactly as the live pushes were.
    const ws = await WsClient.connect(`ws://127.0.0.1:${second.port}/ws`, b.token);
    const answer = await ws.request('joinConversation', { conversation_id: group.id, since: seen.id });
    expect(answer.event).toBe('ack');
    const replayed = ws.frames.slice(0, ws.frames.indexOf(answer)).filter((f: Frame) => REPLAYED.has(f.event));
    expect(replayed.map(({ event, data }) => ({ event, data }))).toEqual(expected);
    expect(answer.data).toMatchObject({ has_more: false, next_cursor: expect.stringMatching(/^\d+$/) });
    expect(answer.data.messages.map((m: { content: string }) => m.content)).toEqual(['first, edited', 'third']);

    // The same across all of b's conversations, from the cursor b kept; and nothing after the new cursor.
    const sync = (await http2.get(`/sync?since=${cursor}`, b.token)).body;
    expect(sync.events.map(({ event, data }: Frame) => ({ event, data }))).toEqual(expected);
    expect(sync.events.every((e: { conversation_id: number }) => e.conversation_id === group.id)).toBe(true);
    expect(sync.has_more).toBe(false);
    const again = (await http2.get(`/sync?since=${sync.next_cursor}`, b.token)).body;
    // Nothing more for b; the cursor may still move on (the platform's unread notices also take stream ids), never back.
    expect(again).toMatchObject({ events: [], has_more: false });
    expect(Number(again.next_cursor)).toBeGreaterThanOrEqual(Number(sync.next_cursor));
    // The conversation's own route pages it: two at a time, resuming at each cursor.
    const pages: unknown[] = [];
    for (let since = seen.id, more = true; more;) {
      const page = (await http2.get(`/conversations/${group.id}/events?since=${since}&limit=2`, b.token)).body;
      pages.push(...page.events.map(({ event, data }: Frame) => ({ event, data })));
      [since, more] = [Number(page.next_cursor), page.has_more];
    }
    expect(pages).toEqual(expected);
    await ws.close();
  });

  it('replays to a Socket.IO client the same way: the missed changes as its events, in order, before the acknowledgement', async () => {
    const [a, b, c] = [await http1.register(), await http1.register(), await http1.register()];
    const group = (await http1.post('/conversations', { participant_ids: [b.id], title: 'socket.io' }, a.token)).body;
    const seen = (await http1.post(`/conversations/${group.id}/messages`, { content: 'seen' }, a.token)).body;
    const expected = await changesWhileAway(group.id, a, c);
    const socket = await connectSocketIo(`http://127.0.0.1:${second.port}`, b.token);
    const received: Array<{ event: string; data: unknown }> = [];
    socket.onAny((event: string, data: unknown) => {
      if (REPLAYED.has(event)) received.push({ event, data });
    });
    const answer = await emitWithAnswer(socket, 'joinConversation', { conversation_id: group.id, since: seen.id });
    const atAnswer = [...received];
    socket.disconnect();
    expect(answer).toMatchObject({ success: true, data: { has_more: false } });
    expect(atAnswer).toEqual(expected);
  });

  it('pages a long absence: has_more and next_cursor lead a client through every change once, in order', async () => {
    const [a, b] = [await http1.register(), await http1.register()];
    const direct = (await http1.post('/conversations', { participant_ids: [b.id] }, a.token)).body;
    const sent: number[] = [];
    // Sent through the process b connects to, which delivers its own commits at once: none is still on its way live.
    for (let i = 0; i < 130; i += 1) sent.push((await http2.post(`/conversations/${direct.id}/messages`, { content: `m${i}` }, a.token)).body.id);
    const ws = await WsClient.connect(`ws://127.0.0.1:${second.port}/ws`, b.token);
    const pushed: number[] = [];
    let since = 0;
    for (let more = true; more;) {
      const before = ws.frames.length;
      const answer = await ws.request('joinConversation', { conversation_id: direct.id, since });
      for (const f of ws.frames.slice(before, ws.frames.indexOf(answer))) if (f.event === 'receiveMessage') pushed.push(f.data.id);
      [since, more] = [Number(answer.data.next_cursor), answer.data.has_more];
    }
    expect(pushed).toEqual(sent);
    await ws.close();
  });

  it('refuses a cursor that is not a stream id, and a conversation the caller is not in, with stable codes', async () => {
    const [a, b, outsider] = [await http1.register(), await http1.register(), await http1.register()];
    const direct = (await http1.post('/conversations', { participant_ids: [b.id] }, a.token)).body;
    for (const since of ['-1', 'abc', '1e3', '99999999999999999999']) {
      const r = await http2.get(`/sync?since=${since}`, a.token);
      expect([r.status, r.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);
    }
    expect((await http2.get(`/sync?limit=1000`, a.token)).status).toBe(400);
    const hidden = await http2.get(`/conversations/${direct.id}/events`, outsider.token);
    expect([hidden.status, hidden.body.error.code]).toEqual([404, 'CONVERSATION_NOT_FOUND']);
    expect((await http2.get('/sync')).status).toBe(401);
    const ws = await WsClient.connect(`ws://127.0.0.1:${second.port}/ws`, outsider.token);
    const refused = await ws.request('joinConversation', { conversation_id: direct.id, since: 0 });
    expect(refused.error?.code).toBe('CONVERSATION_NOT_FOUND');
    // Nothing of the conversation reached the outsider before the refusal.
    expect(ws.frames.filter((f) => REPLAYED.has(f.event))).toEqual([]);
    await ws.close();
  });
});
