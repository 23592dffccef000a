import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase } from '../support/database.js';
import { HttpClient } from '../support/http-client.js';
import { killAll, PROCESS_TEST_ENV, startProcess, type ServerProcess } from '../support/server-process.js';
import { WsClient } from '../support/ws-client.js';

type U = { id: number; token: string; username: string };

/** Two server processes on one database: changes go through the first, the other participant listens on the second. */
describe('reactions, search, read state and edit history, across two processes', () => {
  let first: ServerProcess;
  let second: ServerProcess;
  let http1: HttpClient;
  let http2: HttpClient;
  let databaseUrl: string;
  const sockets: WsClient[] = [];

  beforeAll(async () => {
    databaseUrl = await freshDatabase('features');
    const env = { ...PROCESS_TEST_ENV, DATABASE_URL: databaseUrl };
    [first, second] = await Promise.all([startProcess(env), startProcess(env)]);
    http1 = new HttpClient(`http://127.0.0.1:${first.port}`);
    http2 = new HttpClient(`http://127.0.0.1:${second.port}`);
  }, 60_000);
  afterAll(async () => {
    await Promise.all(sockets.map((s) => s.close().catch(() => undefined)));
    killAll();
  });

  const group = async (owner: U, others: U[], title = 'team') =>
    (await http1.post('/conversations', { participant_ids: others.map((o) => o.id), title }, owner.token)).body.id as number;
  const send = async (from: U, conversationId: number, content: string) =>
    (await http1.post(`/conversations/${conversationId}/messages`, { content }, from.token)).body.id as number;
  const listen = async (who: U, conversationId: number) => {
    const ws = await WsClient.connect(`ws://127.0.0.1:${second.port}/ws`, who.token);
    sockets.push(ws);
    expect((await ws.request('joinConversation', { conversation_id: conversationId })).event).toBe('ack');
    return ws;
  };
  const react = (who: U, messageId: number, emoji: string, method: 'PUT' | 'DELETE' = 'PUT') =>
    http1.request(method, `/messages/${messageId}/reactions/${encodeURIComponent(emoji)}`, { token: who.token });

  it('pushes reactionUpdated to the other participant on another process, counts each emoji once per user, and shows the caller’s own in history', async () => {
    const [a, b] = [await http1.register(), await http1.register()];
    const chat = await group(a, [b]);
    const m = await send(a, chat, 'lunch?');
    const ws = await listen(b, chat);

    const added = await react(a, m, '👍🏽');
    expect(added.status).toBe(200);
    expect(added.body).toEqual({ message_id: m, reactions: [{ emoji: '👍🏽', count: 1 }] });
    const pushed = await ws.event('reactionUpdated', (d) => d.message_id === m);
    expect(pushed.data).toEqual({
      conversation_id: chat,
      message_id: m,
      user_id: a.id,
      emoji: '👍🏽',
      added: true,
      reactions: [{ emoji: '👍🏽', count: 1 }],
      updated_at: expect.any(String),
    });
    // The same emoji again changes nothing; b's makes two.
    expect((await react(a, m, '👍🏽')).body.reactions).toEqual([{ emoji: '👍🏽', count: 1 }]);
    expect((await react(b, m, '👍🏽')).body.reactions).toEqual([{ emoji: '👍🏽', count: 2 }]);
    expect((await react(b, m, '🇫🇷')).body.reactions).toEqual([
      { emoji: '👍🏽', count: 2 },
      { emoji: '🇫🇷', count: 1 },
    ]);
    expect((await react(a, m, '👍🏽', 'DELETE')).body.reactions).toEqual([
      { emoji: '👍🏽', count: 1 },
      { emoji: '🇫🇷', count: 1 },
    ]);
    const removed = await ws.event('reactionUpdated', (d) => d.added === false);
    expect(removed.data).toMatchObject({
      user_id: a.id,
      emoji: '👍🏽',
      reactions: [
        { emoji: '👍🏽', count: 1 },
        { emoji: '🇫🇷', count: 1 },
      ],
    });
    // Four changes were pushed (the repeat was not).
    expect(ws.received('reactionUpdated')).toHaveLength(4);

    const page = (await http2.get(`/conversations/${chat}/messages`, a.token)).body;
    expect(page.reactions).toEqual({
      [m]: [
        { emoji: '👍🏽', count: 1, me: false },
        { emoji: '🇫🇷', count: 1, me: false },
      ],
    });
    expect((await http2.get(`/conversations/${chat}/messages`, b.token)).body.reactions[m]).toEqual([
      { emoji: '👍🏽', count: 1, me: true },
      { emoji: '🇫🇷', count: 1, me: true },
    ]);
  });

  it('replays reactions on joinConversation {since} and in GET /sync, in order with the messages', async () => {
    const [a, b] = [await http1.register(), await http1.register()];
    const chat = await group(a, [b]);
    const seen = await send(a, chat, 'before');
    const cursor = (await http2.get('/sync', b.token)).body.next_cursor as string;
    const m = await send(a, chat, 'while away');
    await react(a, m, '🎉');
    const after = await send(a, chat, 'after');

    const sync = (await http2.get(`/sync?since=${cursor}`, b.token)).body;
    expect(sync.events.map((e: { event: string; data: { id?: number; message_id?: number } }) => [e.event, e.data.id ?? e.data.message_id])).toEqual([
      ['receiveMessage', m],
      ['reactionUpdated', m],
      ['receiveMessage', after],
    ]);
    const ws = await WsClient.connect(`ws://127.0.0.1:${second.port}/ws`, b.token);
    sockets.push(ws);
    const answer = await ws.request('joinConversation', { conversation_id: chat, since: seen });
    const replayed = ws.frames.slice(0, ws.frames.indexOf(answer)).filter((f) => f.event === 'reactionUpdated');
    expect(replayed.map((f) => f.data)).toEqual([expect.objectContaining({ message_id: m, emoji: '🎉', added: true, reactions: [{ emoji: '🎉', count: 1 }] })]);
  });

  it('refuses a reaction that is not exactly one emoji (VALIDATION_FAILED), one more distinct emoji than 20 (REACTION_LIMIT_REACHED), and one by a non-participant (MESSAGE_NOT_FOUND)', async () => {
    const [a, b, outsider] = [await http1.register(), await http1.register(), await http1.register()];
    const chat = await group(a, [b]);
    const m = await send(a, chat, 'react to me');
    for (const bad of ['a', 'ok', '👍👍', '👍 ', ':)', '1', '%E2%80%8B', '\u200b', 'x'.repeat(60)]) {
      const r = await react(a, m, bad);
      expect({ bad, status: r.status, code: r.body.error?.code }).toEqual({ bad, status: 400, code: 'VALIDATION_FAILED' });
    }
    expect((await react(outsider, m, '👍')).body.error.code).toBe('MESSAGE_NOT_FOUND');
    const twenty = ['😀', '😁', '😂', '🤣', '😃', '😄', '😅', '😆', '😉', '😊', '😋', '😎', '😍', '😘', '🥰', '😗', '😙', '🥲', '😚', '🙂'];
    for (const e of twenty) expect((await react(e === '😀' ? a : b, m, e)).status).toBe(200);
    const over = await react(a, m, '🤗');
    expect(over.status).toBe(409);
    expect(over.body.error).toMatchObject({ code: 'REACTION_LIMIT_REACHED', details: { max: 20 } });
    // An emoji already on the message may still be given by someone else.
    expect((await react(a, m, '🙂')).body.reactions).toContainEqual({ emoji: '🙂', count: 2 });
  });

  it('searches only the caller’s conversations, never deleted messages, ranks and pages with a cursor, and escapes the snippet', async () => {
    const [a, b, c] = [await http1.register(), await http1.register(), await http1.register()];
    const mine = await group(a, [b]);
    const theirs = await group(c, [b]);
    const word = `zebra${Date.now().toString(36)}`;
    const kept = await send(a, mine, `the ${word} crossed <b>the</b> road & \u0001 back`);
    const twice = await send(b, mine, `${word} and ${word} again`);
    const gone = await send(a, mine, `a deleted ${word}`);
    await send(c, theirs, `another ${word} elsewhere`);
    expect((await http1.del(`/messages/${gone}`, a.token)).status).toBe(200);

    const found = (await http2.get(`/search/messages?q=${word}`, a.token)).body;
    expect(found.results.map((r: { message: { id: number } }) => r.message.id)).toEqual([twice, kept]);
    expect(found.next_cursor).toBeNull();
    const snippet = found.results[1].snippet as string;
    expect(snippet).toContain(`<mark>${word}</mark>`);
    expect(snippet).toContain('&lt;b&gt;the&lt;/b&gt; road &amp;');
    expect(snippet.replace(/<\/?mark>/g, '')).not.toMatch(/[<>]/);

    // b is in both: four live messages in two conversations; a page of one at a time reaches each once.
    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const page: { results: Array<{ message: { id: number } }>; next_cursor: string | null } = (
        await http2.get(`/search/messages?q=${word}&limit=1${cursor ? `&cursor=${cursor}` : ''}`, b.token)
      ).body;
      seen.push(...page.results.map((r) => r.message.id));
      cursor = page.next_cursor;
    } while (cursor);
    expect(seen).toHaveLength(3);
    expect(new Set(seen).size).toBe(3);
    expect(seen).not.toContain(gone);

    // One conversation only; someone else's is as if it did not exist.
    expect((await http2.get(`/search/messages?q=${word}&conversation_id=${theirs}`, b.token)).body.results).toHaveLength(1);
    expect((await http2.get(`/search/messages?q=${word}&conversation_id=${theirs}`, a.token)).body.error.code).toBe('CONVERSATION_NOT_FOUND');
  });

  it('answers any search text with 400 or results, never 500: operators, quotes, unbalanced syntax, control characters, 10 KB', async () => {
    const a = await http1.register();
    const q = (text: string) => http2.get(`/search/messages?q=${encodeURIComponent(text)}`, a.token);
    for (const text of ['a & b', '"unbalanced', '(x | y', '!!!', "o'reilly:*", 'foo <-> bar', '--', 'or or or', '\\\\', '%_', '😀😀', 'a\u0001b']) {
      const r = await q(text);
      expect({ text, status: r.status }).toEqual({ text, status: 200 });
      expect(r.body.results).toEqual([]);
    }
    const short = await q(' a ');
    expect([short.status, short.body.error.code]).toEqual([400, 'QUERY_TOO_SHORT']);
    const long = await q('x'.repeat(10_000));
    expect([long.status, long.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);
    const nul = await q('ab\u0000cd');
    expect([nul.status, nul.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);
    const forged = await http2.get('/search/messages?q=hello&cursor=bm90LWEtY3Vyc29y', a.token);
    expect([forged.status, forged.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);
  });

  it('lists each participant’s last read message, and in group history how many others read each message', async () => {
    const [a, b, c] = [await http1.register(), await http1.register(), await http1.register()];
    const chat = await group(a, [b, c]);
    const m1 = await send(a, chat, 'one');
    const m2 = await send(a, chat, 'two');
    expect((await http1.post(`/conversations/${chat}/read`, { message_id: m2 }, b.token)).status).toBe(200);
    expect((await http1.post(`/conversations/${chat}/read`, { message_id: m1 }, c.token)).status).toBe(200);

    const state = (await http2.get(`/conversations/${chat}/read-state`, a.token)).body;
    expect(state).toEqual({
      conversation_id: chat,
      participants: [
        { user_id: a.id, username: a.username, last_read_message_id: null },
        { user_id: b.id, username: b.username, last_read_message_id: m2 },
        { user_id: c.id, username: c.username, last_read_message_id: m1 },
      ].sort((x, y) => x.user_id - y.user_id),
    });
    expect((await http2.get(`/conversations/${chat}/messages`, a.token)).body.read_by).toEqual({ [m1]: 2, [m2]: 1 });
    const outsider = await http1.register();
    expect((await http2.get(`/conversations/${chat}/read-state`, outsider.token)).body.error.code).toBe('CONVERSATION_NOT_FOUND');
  });

  it('keeps every prior version of an edited message for the participants to read', async () => {
    const [a, b, outsider] = [await http1.register(), await http1.register(), await http1.register()];
    const chat = await group(a, [b]);
    const m = await send(a, chat, 'draft');
    expect((await http1.patch(`/messages/${m}`, { content: 'second' }, a.token)).status).toBe(200);
    expect((await http1.patch(`/messages/${m}`, { content: 'final' }, a.token)).status).toBe(200);
    const history = (await http2.get(`/messages/${m}/versions`, b.token)).body;
    expect(history.message_id).toBe(m);
    expect(history.versions.map((v: { content: string }) => v.content)).toEqual(['draft', 'second']);
    expect(Date.parse(history.versions[0].replaced_at)).toBeLessThanOrEqual(Date.parse(history.versions[1].replaced_at));
    expect((await http2.get(`/messages/${m}/versions`, outsider.token)).body.error.code).toBe('MESSAGE_NOT_FOUND');
  });

  it('renames a group for everyone: the other participant on another process is told and reads the new title; only its creator or staff may, with a valid title', async () => {
    const [a, b, outsider] = [await http1.register(), await http1.register(), await http1.register()];
    const chat = await group(a, [b], 'old name');
    const ws = await listen(b, chat);
    // Read once on the second process, so its cache holds the old title.
    expect((await http2.get(`/conversations/${chat}`, b.token)).body.title).toBe('old name');

    const renamed = await http1.patch(`/conversations/${chat}`, { title: '  new name ' }, a.token);
    expect(renamed.body).toEqual({ conversation_id: chat, title: 'new name', deleted: false });
    const pushed = await ws.event('conversationUpdated', (d) => d.conversation_id === chat);
    expect(pushed.data).toEqual({ conversation_id: chat, title: 'new name', deleted: false, updated_by: a.id, updated_at: expect.any(String) });
    expect((await http2.get(`/conversations/${chat}`, b.token)).body.title).toBe('new name');
    expect((await http2.get('/conversations', b.token)).body.conversations.find((c: { id: number }) => c.id === chat).title).toBe('new name');

    expect((await http1.patch(`/conversations/${chat}`, { title: 'mine now' }, b.token)).body.error.code).toBe('FORBIDDEN');
    expect((await http1.patch(`/conversations/${chat}`, { title: 'mine now' }, outsider.token)).body.error.code).toBe('CONVERSATION_NOT_FOUND');
    for (const title of ['', '   ', 'x'.repeat(256), 'nul\u0000']) {
      expect((await http1.patch(`/conversations/${chat}`, { title }, a.token)).body.error.code).toBe('VALIDATION_FAILED');
    }
    const direct = (await http1.post('/conversations', { participant_ids: [b.id] }, a.token)).body.id;
    expect((await http1.patch(`/conversations/${direct}`, { title: 'no' }, a.token)).body.error.code).toBe('NOT_A_GROUP');
    // The rename is in the stream: b's sync replays it.
    const sync = (await http2.get('/sync', b.token)).body;
    expect(sync.events.filter((e: { event: string }) => e.event === 'conversationUpdated').map((e: { data: unknown }) => e.data)).toEqual([pushed.data]);
  });

  it('archives a conversation for the caller only: it leaves their default list, is listed with ?archived=true, and comes back when unarchived', async () => {
    const [a, b] = [await http1.register(), await http1.register()];
    const kept = await group(a, [b], 'kept');
    const shelved = await group(a, [b], 'shelved');
    const ids = async (who: U, query = '') => (await http2.get(`/conversations${query}`, who.token)).body.conversations.map((c: { id: number }) => c.id);

    expect((await http1.request('PUT', `/conversations/${shelved}/archive`, { token: a.token })).body).toEqual({ conversation_id: shelved, archived: true });
    expect(await ids(a)).toEqual([kept]);
    expect(await ids(a, '?archived=true')).toEqual([shelved]);
    expect(await ids(b)).toEqual([shelved, kept]);
    expect((await http1.del(`/conversations/${shelved}/archive`, a.token)).body).toEqual({ conversation_id: shelved, archived: false });
    expect(await ids(a)).toEqual([shelved, kept]);
    expect(await ids(a, '?archived=true')).toEqual([]);
    const outsider = await http1.register();
    expect((await http1.request('PUT', `/conversations/${shelved}/archive`, { token: outsider.token })).body.error.code).toBe('CONVERSATION_NOT_FOUND');
  });

  it('deletes a group softly (creator only), telling its participants, who then cannot read or send to it; staff restore it', async () => {
    const [a, b, staff] = [await http1.register(), await http1.register(), await http1.register()];
    const db = new pg.Client({ connectionString: databaseUrl });
    await db.connect();
    await db.query('UPDATE users SET is_staff = true WHERE id = $1', [staff.id]).finally(() => db.end());
    const chat = await group(a, [b], 'doomed');
    const ws = await listen(b, chat);
    expect((await http1.del(`/conversations/${chat}`, b.token)).body.error.code).toBe('FORBIDDEN');

    expect((await http1.del(`/conversations/${chat}`, a.token)).body).toEqual({ conversation_id: chat, title: 'doomed', deleted: true });
    expect((await ws.event('conversationUpdated', (d) => d.conversation_id === chat)).data).toMatchObject({ deleted: true, updated_by: a.id });
    expect((await http2.get(`/conversations/${chat}`, b.token)).body.error.code).toBe('CONVERSATION_NOT_FOUND');
    expect((await http2.post(`/conversations/${chat}/messages`, { content: 'hello?' }, b.token)).body.error.code).toBe('CONVERSATION_NOT_FOUND');
    expect((await http2.get('/conversations', b.token)).body.conversations).toEqual([]);

    expect((await http1.post(`/conversations/${chat}/restore`, {}, a.token)).body.error.code).toBe('FORBIDDEN');
    expect((await http1.post(`/conversations/${chat}/restore`, {}, staff.token)).body).toEqual({ conversation_id: chat, title: 'doomed', deleted: false });
    expect((await http2.get(`/conversations/${chat}`, b.token)).body.title).toBe('doomed');
    expect((await http2.post(`/conversations/${chat}/messages`, { content: 'back' }, b.token)).status).toBe(201);
  });

  it('delivers a muted conversation’s messages live to the muter', async () => {
    const [a, b] = [await http1.register(), await http1.register()];
    const chat = await group(a, [b]);
    expect((await http2.request('PUT', `/conversations/${chat}/mute`, { token: b.token })).body).toEqual({ conversation_id: chat, muted: true });
    const ws = await listen(b, chat);
    const m = await send(a, chat, 'still live');
    expect((await ws.event('receiveMessage', (d) => d.id === m)).data.content).toBe('still live');
  });
});

describe('search rate limit', () => {
  afterAll(() => killAll());

  it('refuses a user’s searches beyond SEARCHES_PER_USER_PER_MINUTE with RATE_LIMITED, while another user still searches', async () => {
    const env = { ...PROCESS_TEST_ENV, DATABASE_URL: await freshDatabase('search_limit'), RATE_LIMITS: 'on', SEARCHES_PER_USER_PER_MINUTE: '2' };
    const server = await startProcess(env);
    const http = new HttpClient(`http://127.0.0.1:${server.port}`);
    const [a, b] = [await http.register(), await http.register()];
    expect((await http.get('/search/messages?q=hello', a.token)).status).toBe(200);
    expect((await http.get('/search/messages?q=hello', a.token)).status).toBe(200);
    const refused = await http.get('/search/messages?q=hello', a.token);
    expect([refused.status, refused.body.error.code]).toEqual([429, 'RATE_LIMITED']);
    expect((await http.get('/search/messages?q=hello', b.token)).status).toBe(200);
  }, 60_000);
});
