import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChatClient, ChatError, type Message, type StateChange, type WebSocketConstructor } from '../../client/chat-client.js';
import { checkedFetch, CheckedWebSocket, nextEvent as next, nextPresenceEvent } from '../support/checked-transport.js';
import { eventually } from '../support/eventually.js';
import { freePort } from '../support/server-process.js';
import { startTestServer, type TestServer } from '../support/test-server.js';
import { WsClient } from '../support/ws-client.js';

let server: TestServer;
let unusedPort: number;
const sockets: CheckedWebSocket[] = [];
const clients: ChatClient[] = [];
const rawClients: WsClient[] = [];

/** The `ws` package as the client's WebSocket, remembering each socket so a test can kill it. */
class TrackedWebSocket extends CheckedWebSocket {
  constructor(url: string) {
    super(url);
    sockets.push(this);
  }
}

/** While the gate is shut, every connection attempt goes to a port nobody listens on. */
let gateOpen = true;
class GatedWebSocket extends CheckedWebSocket {
  constructor(url: string) {
    super(gateOpen ? url : url.replace(/:\d+\/ws/, `:${unusedPort}/ws`));
    sockets.push(this);
  }
}

interface Observed {
  readonly client: ChatClient;
  readonly received: Message[];
  readonly states: StateChange[];
}

function observed(token?: string, WS: WebSocketConstructor = TrackedWebSocket): Observed {
  const client = new ChatClient({
    baseUrl: `http://127.0.0.1:${server.port}`,
    WebSocket: WS,
    fetch: checkedFetch,
    backoff: { baseMs: 20, capMs: 200 },
    ...(token ? { token } : {}),
  });
  clients.push(client);
  const received: Message[] = [];
  const states: StateChange[] = [];
  client.on('receiveMessage', (m) => received.push(m));
  client.on('state', (s) => states.push(s));
  return { client, received, states };
}

const idsIn = (messages: Message[], conversationId: number) => messages.filter((m) => m.conversation_id === conversationId).map((m) => m.id);

/** Every stored message of a conversation, oldest first, through REST paging. */
async function allIds(client: ChatClient, conversationId: number): Promise<number[]> {
  const ids: number[] = [];
  let before: number | undefined;
  for (;;) {
    const page = await client.history(conversationId, { limit: 100, ...(before ? { before } : {}) });
    ids.unshift(...page.messages.map((m) => m.id));
    if (!page.has_more) return ids;
    before = page.messages[0]!.id;
  }
}

async function pair() {
  const [a, b] = await Promise.all([server.http.register(), server.http.register()]);
  const created = await server.http.post('/conversations', { participant_ids: [b.id] }, a.token);
  return { a, b, conversationId: created.body.id as number };
}

beforeAll(async () => {
  server = await startTestServer();
  unusedPort = await freePort();
});

afterAll(async () => {
  for (const c of clients) c.close();
  for (const s of sockets) s.terminate();
  for (const c of rawClients) c.socket.terminate();
  await server?.stop();
});

describe('the client module against the real server', () => {
  it('registers and logs in over REST, and the session token opens /ws', async () => {
    const ann = observed();
    const name = `ann_${Date.now()}`;
    const session = await ann.client.register({ email: `${name}@example.com`, username: name, password: 'correct horse', role: 'tenant' });
    expect(session.user.username).toBe(name);
    expect(ann.client.token).toBe(session.token);

    const ben = await server.http.register();
    const benClient = observed();
    const login = await benClient.client.logIn({ username: ben.username, password: 'correct horse' });
    expect(login.user.id).toBe(ben.id);
    await Promise.all([ann.client.connect(), benClient.client.connect()]);
    expect([ann.client.state, benClient.client.state]).toEqual([{ state: 'open' }, { state: 'open' }]);
    await expect(benClient.client.logIn({ username: ben.username, password: 'wrong password' })).rejects.toMatchObject({
      code: 'INVALID_CREDENTIALS',
      status: 401,
    });
  });

  it('shows a send as pending until acked; the receiver gets it once; edit, delete and read receipt reach the other side', async () => {
    const { a, b, conversationId } = await pair();
    const alice = observed(a.token);
    const bob = observed(b.token);
    await Promise.all([alice.client.connect(), bob.client.connect()]);

    const first = alice.client.sendMessage({ conversation_id: conversationId, content: 'hello bob' });
    expect(alice.client.pendingMessages(conversationId)).toEqual([first.pending]);
    const stored = await first.acked;
    expect(stored).toMatchObject({ content: 'hello bob', client_id: first.pending.client_id, sender_id: a.id });
    expect(alice.client.pendingMessages(conversationId)).toEqual([]);
    const second = await alice.client.sendMessage({ conversation_id: conversationId, content: 'second' }).acked;
    await eventually(() => idsIn(bob.received, conversationId).includes(second.id));
    expect(idsIn(bob.received, conversationId)).toEqual([stored.id, second.id]);

    const [summary] = (await bob.client.listConversations()).conversations.filter((c) => c.id === conversationId);
    expect(summary).toMatchObject({ unread_count: 2, last_message: { id: second.id } });

    const updated = next(bob.client, 'messageUpdated', (m) => m.id === stored.id);
    await alice.client.editMessage(stored.id, 'hello bob (edited)');
    expect(await updated).toMatchObject({ content: 'hello bob (edited)', edited_at: expect.any(String) });

    const deleted = next(bob.client, 'messageDeleted', (d) => d.id === second.id);
    await expect(alice.client.deleteMessage(second.id)).resolves.toEqual({ id: second.id });
    expect(await deleted).toMatchObject({ id: second.id, conversation_id: conversationId });

    const receipt = next(alice.client, 'readReceipt', (r) => r.conversation_id === conversationId);
    await bob.client.markRead(conversationId, stored.id);
    expect(await receipt).toMatchObject({ user_id: b.id, message_id: stored.id });

    const refused = await bob.client.editMessage(stored.id, 'not mine').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ChatError);
    expect(refused).toMatchObject({ code: 'NOT_MESSAGE_SENDER', message: expect.any(String) });
  });

  it('pages history backwards with the before cursor, oldest first within each page', async () => {
    const { a, conversationId } = await pair();
    const alice = observed(a.token);
    await alice.client.connect();
    const sent: number[] = [];
    for (let i = 0; i < 5; i++) sent.push((await alice.client.sendMessage({ conversation_id: conversationId, content: `n${i}` }).acked).id);
    const newest = await alice.client.history(conversationId, { limit: 2 });
    expect(newest).toMatchObject({ has_more: true });
    expect(newest.messages.map((m) => m.id)).toEqual(sent.slice(3));
    const older = await alice.client.history(conversationId, { before: newest.messages[0]!.id, limit: 2 });
    expect(older.messages.map((m) => m.id)).toEqual(sent.slice(1, 3));
    const oldest = await alice.client.history(conversationId, { before: older.messages[0]!.id, limit: 2 });
    expect(oldest).toEqual({ messages: [expect.objectContaining({ id: sent[0] })], has_more: false, reactions: {} });
  });

  it('reconnects after its socket is terminated and catches up exactly what was sent meanwhile: nothing lost, nothing twice', async () => {
    const { a, b, conversationId } = await pair();
    const carol = observed(a.token);
    const dave = observed(b.token, GatedWebSocket);
    await Promise.all([carol.client.connect(), dave.client.connect()]);
    const synced = next(dave.client, 'synced', (s) => s.conversation_id === conversationId);
    dave.client.follow(conversationId, 0);
    await synced;

    const before = await Promise.all([1, 2, 3].map((i) => carol.client.sendMessage({ conversation_id: conversationId, content: `before ${i}` }).acked));
    await eventually(() => idsIn(dave.received, conversationId).length === 3);

    // Sent in the same tick the socket dies: stored or not, the resend must leave exactly one.
    gateOpen = false;
    const dying = dave.client.sendMessage({ conversation_id: conversationId, content: 'sent as the line dropped' });
    sockets.at(-1)!.terminate();
    await next(dave.client, 'state', (s) => s.state === 'reconnecting' && (s.attempt ?? 0) >= 2);
    const offline = dave.client.sendMessage({ conversation_id: conversationId, content: 'written while offline' });
    expect(dave.client.pendingMessages(conversationId).map((p) => p.client_id)).toEqual([dying.pending.client_id, offline.pending.client_id]);

    // More than one catch-up page (100) arrives while dave is away.
    const meanwhile = await Promise.all(
      Array.from({ length: 130 }, (_, i) => carol.client.sendMessage({ conversation_id: conversationId, content: `meanwhile ${i}` }).acked),
    );
    expect(idsIn(dave.received, conversationId)).toHaveLength(3);

    const caughtUp = next(dave.client, 'synced', (s) => s.conversation_id === conversationId);
    gateOpen = true;
    expect((await caughtUp).messages).toBeGreaterThanOrEqual(130);
    const [dyingStored, offlineStored] = await Promise.all([dying.acked, offline.acked]);
    const sentinel = await carol.client.sendMessage({ conversation_id: conversationId, content: 'sentinel' }).acked;
    await eventually(() => idsIn(dave.received, conversationId).includes(sentinel.id));
    await eventually(() => idsIn(carol.received, conversationId).includes(offlineStored.id));

    const stored = await allIds(carol.client, conversationId);
    expect(stored).toHaveLength(3 + 2 + 130 + 1);
    expect(stored).toEqual(expect.arrayContaining([...before, ...meanwhile, dyingStored, offlineStored, sentinel].map((m) => m.id)));
    const daveIds = idsIn(dave.received, conversationId);
    expect(new Set(daveIds).size).toBe(daveIds.length);
    expect([...daveIds].sort((x, y) => x - y)).toEqual(stored);
    const carolCopies = idsIn(carol.received, conversationId).filter((id) => id === dyingStored.id || id === offlineStored.id);
    expect(carolCopies.sort((x, y) => x - y)).toEqual([dyingStored.id, offlineStored.id].sort((x, y) => x - y));
    expect(dave.client.pendingMessages(conversationId)).toEqual([]);
    expect(dave.client.lastSeenId(conversationId)).toBe(sentinel.id);
  });

  it('stops for good, without a second attempt, when the server refuses its token', async () => {
    const before = sockets.length;
    const intruder = observed('not-a-valid-token');
    const error = await intruder.client.connect().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChatError);
    expect(error).toMatchObject({ code: 'UNAUTHORIZED' });
    expect(intruder.client.state).toEqual({ state: 'closed', reason: 'unauthorized', closeCode: 1006 });
    expect(sockets.length - before).toBe(1);
  });
});

describe('presence and typing in the client module', () => {
  const typingOf = (conversationId: number) => (t: { conversation_id: number }) => t.conversation_id === conversationId;

  it('learns presence from participants() and from a catch-up’s join answer, then follows the pushes: online on connect, offline after the grace period', async () => {
    const { a, b, conversationId } = await pair();
    const bob = observed(b.token);
    await bob.client.connect();
    const listed = await bob.client.participants(conversationId);
    expect(listed.find((p) => p.id === a.id)).toEqual({
      id: a.id,
      username: expect.any(String),
      display_name: null,
      role: 'tenant',
      picture_url: null,
      online: false,
      last_seen_at: null,
    });
    expect(bob.client.presence.of(a.id)).toEqual({ user_id: a.id, online: false, last_seen_at: null });

    const cameOnline = nextPresenceEvent(bob.client, 'presenceChanged', (p) => p.user_id === a.id);
    const alice = observed(a.token);
    await alice.client.connect();
    expect(await cameOnline).toEqual({ user_id: a.id, online: true, last_seen_at: null });
    expect(bob.client.presence.isOnline(a.id)).toBe(true);

    // Presence is pushed on change only: a device that connects later learns it from the join answer.
    const tablet = observed(b.token);
    const pushed: unknown[] = [];
    tablet.client.on('presence', (p) => pushed.push(p));
    await tablet.client.connect();
    const synced = next(tablet.client, 'synced', (s) => s.conversation_id === conversationId);
    tablet.client.follow(conversationId, 0);
    await synced;
    expect(tablet.client.presence.of(a.id)).toEqual({ user_id: a.id, online: true, last_seen_at: null });
    expect(pushed).toEqual([]);

    const wentOffline = nextPresenceEvent(bob.client, 'presenceChanged', (p) => p.user_id === a.id, 15_000);
    const closedAt = Date.now();
    alice.client.close();
    const offline = await wentOffline;
    expect(offline).toEqual({ user_id: a.id, online: false, last_seen_at: expect.any(String) });
    expect(Date.now() - closedAt).toBeGreaterThanOrEqual(4_500);
    expect(bob.client.presence.isOnline(a.id)).toBe(false);
  });

  it('sendTyping sends one true per 3 s however often it is called and a false only after a true; sendMessage sends the false; the other side shows and clears it', async () => {
    const { a, b, conversationId } = await pair();
    const alice = observed(a.token);
    await alice.client.connect();
    const aliceSocket = sockets.at(-1)!;
    const bob = observed(b.token);
    await bob.client.connect();
    const sent = () => aliceSocket.sent.filter((f) => f.event === 'typing').map((f) => f.data.is_typing as boolean);

    const shown = nextPresenceEvent(bob.client, 'typingChanged', typingOf(conversationId));
    for (let i = 0; i < 5; i++) alice.client.sendTyping(conversationId);
    expect(sent()).toEqual([true]);
    expect(await shown).toEqual({ conversation_id: conversationId, user_ids: [a.id] });

    const cleared = nextPresenceEvent(bob.client, 'typingChanged', typingOf(conversationId));
    alice.client.sendTyping(conversationId, false);
    alice.client.sendTyping(conversationId, false);
    expect(sent()).toEqual([true, false]);
    expect(await cleared).toEqual({ conversation_id: conversationId, user_ids: [] });

    // After a false, the next keystroke announces at once; the message ends it.
    const shownAgain = nextPresenceEvent(bob.client, 'typingChanged', typingOf(conversationId));
    alice.client.sendTyping(conversationId);
    expect(await shownAgain).toEqual({ conversation_id: conversationId, user_ids: [a.id] });
    const clearedAgain = nextPresenceEvent(bob.client, 'typingChanged', typingOf(conversationId));
    const message = await alice.client.sendMessage({ conversation_id: conversationId, content: 'done typing' }).acked;
    expect(sent()).toEqual([true, false, true, false]);
    expect(await clearedAgain).toEqual({ conversation_id: conversationId, user_ids: [] });
    await eventually(() => idsIn(bob.received, conversationId).includes(message.id));
    expect(bob.client.presence.typing(conversationId)).toEqual([]);
  });

  it('drops a typing indicator nobody renews 6 s after it arrived, with no false from the typist', async () => {
    const { a, b, conversationId } = await pair();
    const alice = observed(a.token);
    const bob = observed(b.token);
    await Promise.all([alice.client.connect(), bob.client.connect()]);
    const pushes: unknown[] = [];
    bob.client.on('typing', (t) => pushes.push(t));
    const shown = nextPresenceEvent(bob.client, 'typingChanged', typingOf(conversationId));
    alice.client.sendTyping(conversationId);
    await shown;
    const shownAt = Date.now();
    const expired = await nextPresenceEvent(bob.client, 'typingChanged', typingOf(conversationId), 15_000);
    expect(Date.now() - shownAt).toBeGreaterThanOrEqual(5_900);
    expect(expired).toEqual({ conversation_id: conversationId, user_ids: [] });
    expect(pushes).toEqual([{ conversation_id: conversationId, user_id: a.id, is_typing: true }]);
  });

  it('clears a typing indicator when the typist’s message arrives, before any is_typing false does', async () => {
    const { a, b, conversationId } = await pair();
    const bob = observed(b.token);
    await bob.client.connect();
    // Alice on a bare socket: no client module sending its false before the message.
    const alice = await WsClient.connect(server.wsUrl, a.token);
    rawClients.push(alice);
    let falseArrived = false;
    bob.client.on('typing', (t) => (falseArrived ||= !t.is_typing));
    const shown = nextPresenceEvent(bob.client, 'typingChanged', typingOf(conversationId));
    await alice.request('typing', { conversation_id: conversationId });
    expect((await shown).user_ids).toEqual([a.id]);
    const atArrival = new Promise<{ typing: number[]; falseArrived: boolean }>((resolve) =>
      bob.client.on('receiveMessage', () => resolve({ typing: bob.client.presence.typing(conversationId), falseArrived })),
    );
    await alice.request('sendMessage', { conversation_id: conversationId, content: 'here it is' });
    expect(await atArrival).toEqual({ typing: [], falseArrived: false });
  });
});
