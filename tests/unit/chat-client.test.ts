import { afterEach, describe, expect, it, vi } from 'vitest';
import { backoffDelay, ChatClient, ChatError, shouldReconnect, type Message, type StateChange } from '../../client/chat-client.js';

type Listener = (event: never) => void;

/** An in-memory WebSocket the test plays the server of: it sees every frame the client sends. */
class FakeSocket {
  static all: FakeSocket[] = [];
  readyState = 0;
  readonly sent: Array<{ event: string; data: any; ack: number }> = [];
  private readonly listeners = new Map<string, Listener[]>();

  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }

  static last(): FakeSocket {
    return FakeSocket.all.at(-1)!;
  }

  addEventListener(type: string, listener: Listener): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }

  send(data: string): void {
    this.sent.push(JSON.parse(data));
  }

  close(code = 1000): void {
    this.drop(code);
  }

  open(): void {
    this.readyState = 1;
    this.fire('open', {});
  }

  push(event: string, data: unknown): void {
    this.fire('message', { data: JSON.stringify({ event, data }) });
  }

  answer(ack: number, data: unknown): void {
    this.fire('message', { data: JSON.stringify({ event: 'ack', ack, data }) });
  }

  fail(ack: number, code: string): void {
    this.fire('message', { data: JSON.stringify({ event: 'error', ack, error: { code, message: `failed: ${code}` } }) });
  }

  drop(code: number): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.fire('close', { code, reason: '' });
  }

  /** The last frame of this event the client sent. */
  lastSent(event: string) {
    const frame = this.sent.filter((f) => f.event === event).at(-1);
    if (!frame) throw new Error(`no ${event} sent`);
    return frame;
  }

  private fire(type: string, event: object): void {
    for (const l of this.listeners.get(type) ?? []) (l as (e: object) => void)(event);
  }
}

const message = (id: number, conversationId = 7, clientId: string | null = null): Message => ({
  id,
  conversation: conversationId,
  conversation_id: conversationId,
  sender: { id: 2, username: 'ben' },
  sender_id: 2,
  content: `m${id}`,
  type: 'text',
  attachment: null,
  client_id: clientId,
  read_at: null,
  edited_at: null,
  created_at: '2026-01-01T00:00:00.000Z',
  updated_at: '2026-01-01T00:00:00.000Z',
});

/** The REST answer to the client's "does my token still work" question after a refused upgrade. */
const meAnswering = (status: number) => async () =>
  new Response(JSON.stringify(status === 200 ? { id: 1 } : { error: { code: 'UNAUTHORIZED', message: 'no' } }), { status });

function client(options: { meStatus?: number; random?: () => number } = {}) {
  const c = new ChatClient({
    baseUrl: 'http://chat.test',
    token: 't0k',
    WebSocket: FakeSocket,
    fetch: meAnswering(options.meStatus ?? 200),
    backoff: { baseMs: 100, capMs: 1000 },
    random: options.random ?? (() => 0.5),
  });
  const states: StateChange[] = [];
  const received: number[] = [];
  c.on('state', (s) => states.push(s));
  c.on('receiveMessage', (m) => received.push(m.id));
  return { c, states, received };
}

async function connected(options?: Parameters<typeof client>[0]) {
  const made = client(options);
  const opened = made.c.connect();
  FakeSocket.last().open();
  await opened;
  return made;
}

afterEach(() => {
  vi.useRealTimers();
  FakeSocket.all = [];
});

describe('backoffDelay', () => {
  it('draws each delay from [0, min(cap, base * 2^attempt))', () => {
    const options = { baseMs: 500, capMs: 30_000 };
    expect(backoffDelay(0, options, () => 0)).toBe(0);
    expect(backoffDelay(0, options, () => 0.999_999)).toBe(499);
    expect(backoffDelay(3, options, () => 0.5)).toBe(2000);
    expect(backoffDelay(6, options, () => 0.999_999)).toBe(29_999);
    expect(backoffDelay(5000, options, () => 0.5)).toBe(15_000);
  });

  it('reconnects after 1001, 1006, 1011 and 4008, not after 1008, 4001 or 4003', () => {
    expect([1001, 1006, 1011, 4008].map(shouldReconnect)).toEqual([true, true, true, true]);
    expect([1008, 4001, 4003].map(shouldReconnect)).toEqual([false, false, false]);
  });
});

describe('ChatClient over an in-memory socket', () => {
  it('connects to /ws with the token in the query', async () => {
    await connected();
    expect(FakeSocket.last().url).toBe('ws://chat.test/ws?token=t0k');
  });

  it.each([1001, 1006, 4008])('schedules a reconnect with a jittered delay after close code %i, and dials again when it expires', async (code) => {
    vi.useFakeTimers();
    const { states } = await connected({ random: () => 0.5 });
    FakeSocket.last().drop(code);
    expect(states.at(-1)).toEqual({ state: 'reconnecting', attempt: 1, delayMs: 50, closeCode: code });
    vi.advanceTimersByTime(49);
    expect(FakeSocket.all).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(FakeSocket.all).toHaveLength(2);
    expect(states.at(-1)).toEqual({ state: 'connecting' });
  });

  it('stops for good after close code 1008', async () => {
    const { c, states } = await connected();
    FakeSocket.last().drop(1008);
    expect(states.at(-1)).toEqual({ state: 'closed', reason: 'refused', closeCode: 1008 });
    expect(c.state.state).toBe('closed');
  });

  it('stops for good after close code 4001, the end of its session, with reason revoked', async () => {
    const { c, states } = await connected();
    FakeSocket.last().drop(4001);
    expect(states.at(-1)).toEqual({ state: 'closed', reason: 'revoked', closeCode: 4001 });
    expect(c.state.state).toBe('closed');
  });

  it('stops when a refused upgrade turns out to be a refused token, and keeps retrying when the token still works', async () => {
    const refused = client({ meStatus: 401 });
    const attempt = refused.c.connect();
    FakeSocket.last().drop(1006);
    await expect(attempt).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    expect(refused.states.at(-1)).toEqual({ state: 'closed', reason: 'unauthorized', closeCode: 1006 });

    const unreachable = client({ meStatus: 200 });
    void unreachable.c.connect().catch(() => undefined);
    FakeSocket.last().drop(1006);
    await vi.waitFor(() => expect(unreachable.c.state.state).toBe('reconnecting'));
    expect(unreachable.states.at(-1)).toMatchObject({ state: 'reconnecting', attempt: 1, closeCode: 1006 });
    unreachable.c.close();
  });

  it('grows the delay ceiling with each failed attempt and resets it once a connection opens', async () => {
    const { c, states } = await connected({ random: () => 0.999_999 });
    FakeSocket.last().drop(1006);
    await vi.waitFor(() => expect(FakeSocket.all).toHaveLength(2));
    FakeSocket.last().drop(1006); // never opened: the client asks REST before retrying
    await vi.waitFor(() => expect(FakeSocket.all).toHaveLength(3));
    expect(states.filter((s) => s.state === 'reconnecting')).toEqual([
      { state: 'reconnecting', attempt: 1, delayMs: 99, closeCode: 1006 },
      { state: 'reconnecting', attempt: 2, delayMs: 199, closeCode: 1006 },
    ]);
    FakeSocket.last().open();
    FakeSocket.last().drop(1006);
    expect(states.at(-1)).toEqual({ state: 'reconnecting', attempt: 1, delayMs: 99, closeCode: 1006 });
    c.close();
  });

  it('resolves a request with the ack data and rejects an error frame with a ChatError of its code', async () => {
    const { c } = await connected();
    const edited = c.editMessage(5, 'new');
    const socket = FakeSocket.last();
    socket.answer(socket.lastSent('editMessage').ack, message(5));
    await expect(edited).resolves.toMatchObject({ id: 5 });
    const refused = c.deleteMessage(6);
    socket.fail(socket.lastSent('deleteMessage').ack, 'NOT_MESSAGE_SENDER');
    const error = await refused.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChatError);
    expect(error).toMatchObject({ code: 'NOT_MESSAGE_SENDER', message: 'failed: NOT_MESSAGE_SENDER' });
  });

  it('keeps a send pending across a drop and resends it with the same client_id until acked', async () => {
    const { c, received } = await connected({ random: () => 0 });
    const send = c.sendMessage({ conversation_id: 7, content: 'hi' });
    expect(c.pendingMessages(7)).toEqual([send.pending]);
    const first = FakeSocket.last().lastSent('sendMessage');
    FakeSocket.last().drop(1006);
    await vi.waitFor(() => expect(FakeSocket.all).toHaveLength(2));
    expect(c.pendingMessages(7)).toEqual([send.pending]);
    FakeSocket.last().open();
    const again = FakeSocket.last().lastSent('sendMessage');
    expect(again.data.client_id).toBe(first.data.client_id);
    FakeSocket.last().answer(again.ack, message(40, 7, send.pending.client_id));
    await expect(send.acked).resolves.toMatchObject({ id: 40 });
    expect(c.pendingMessages(7)).toEqual([]);
    FakeSocket.last().push('receiveMessage', message(40, 7, send.pending.client_id));
    expect(received).toEqual([40]);
  });

  it('delivers each message once when a catch-up overlaps live pushes, and catches up after the highest id seen', async () => {
    const { c, received } = await connected({ random: () => 0 });
    c.follow(7, 10);
    let socket = FakeSocket.last();
    const join = socket.lastSent('joinConversation');
    expect(join.data).toEqual({ conversation_id: 7, since: 10 });
    socket.push('receiveMessage', message(12));
    socket.answer(join.ack, { conversation: { participants: [] }, messages: [message(11), message(12), message(13)], has_more: false });
    socket.push('receiveMessage', message(13));
    socket.push('receiveMessage', message(14));
    await vi.waitFor(() => expect(c.lastSeenId(7)).toBe(14));
    // A catch-up page is handled after the pushes already queued behind it: each id once, in any order.
    expect([...received].sort((x, y) => x - y)).toEqual([11, 12, 13, 14]);

    socket.drop(1006);
    await vi.waitFor(() => expect(FakeSocket.all).toHaveLength(2));
    socket = FakeSocket.last();
    socket.open();
    const rejoin = socket.lastSent('joinConversation');
    expect(rejoin.data).toEqual({ conversation_id: 7, since: 14 });
    socket.answer(rejoin.ack, { conversation: { participants: [] }, messages: [message(15)], has_more: false });
    await vi.waitFor(() => expect(received).toHaveLength(5));
    expect(received.at(-1)).toBe(15);
  });

  it('pages a catch-up while has_more, starting each page after the last id of the one before', async () => {
    const { c, received } = await connected();
    c.follow(7, 0);
    const socket = FakeSocket.last();
    const first = socket.lastSent('joinConversation');
    socket.answer(first.ack, { conversation: { participants: [] }, messages: [message(1), message(2)], has_more: true });
    await vi.waitFor(() => expect(socket.sent.filter((f) => f.event === 'joinConversation')).toHaveLength(2));
    const second = socket.lastSent('joinConversation');
    expect(second.data).toEqual({ conversation_id: 7, since: 2 });
    socket.answer(second.ack, { conversation: { participants: [] }, messages: [message(3)], has_more: false });
    await vi.waitFor(() => expect(c.lastSeenId(7)).toBe(3));
    expect(received).toEqual([1, 2, 3]);
  });

  it('does not move the catch-up cursor on the ack of its own send', async () => {
    const { c } = await connected();
    const synced = new Promise((resolve) => c.on('synced', resolve));
    c.follow(7, 10);
    const socket = FakeSocket.last();
    socket.answer(socket.lastSent('joinConversation').ack, { conversation: { participants: [] }, messages: [], has_more: false });
    await synced;
    const send = c.sendMessage({ conversation_id: 7, content: 'mine' });
    socket.answer(socket.lastSent('sendMessage').ack, message(20, 7, send.pending.client_id));
    await send.acked;
    expect(c.lastSeenId(7)).toBe(10);
  });

  describe('a password change, whose own socket the server closes with 4001', () => {
    const signedIn = (token: string) => ({
      user: {
        id: 1,
        email: 'ann@example.com',
        username: 'ann',
        phone_number: null,
        profile_picture: null,
        role: 'tenant',
        is_active: true,
        is_staff: false,
        date_joined: '2026-01-01T00:00:00.000Z',
        last_login: null,
      },
      token,
      expires_at: new Date(Date.now() + 3_600_000).toISOString(),
      refresh_token: `refresh-${token}`,
      refresh_expires_at: new Date(Date.now() + 86_400_000).toISOString(),
    });

    /** A client whose password change is answered only when the test says so. */
    async function changing() {
      let answer!: () => void;
      const c = new ChatClient({
        baseUrl: 'http://chat.test',
        token: 'old',
        refreshToken: 'refresh-old',
        WebSocket: FakeSocket,
        fetch: () => new Promise<Response>((resolve) => (answer = () => resolve(new Response(JSON.stringify(signedIn('new')), { status: 200 })))),
        random: () => 0,
      });
      const states: StateChange[] = [];
      c.on('state', (s) => states.push(s));
      const opened = c.connect();
      FakeSocket.last().open();
      await opened;
      const changed = c.changePassword('correct horse', 'battery staple');
      return { c, states, changed, answer: () => answer() };
    }

    it('a 4001 that comes before the answer waits for it, then reconnects with the new token', async () => {
      const { c, states, changed, answer } = await changing();
      FakeSocket.last().drop(4001);
      expect(states.at(-1)).toEqual({ state: 'connecting' });
      expect(FakeSocket.all).toHaveLength(1);
      answer();
      await changed;
      await vi.waitFor(() => expect(FakeSocket.all).toHaveLength(2));
      expect(FakeSocket.last().url).toBe('ws://chat.test/ws?token=new');
      expect(states.filter((s) => s.state === 'closed')).toEqual([]);
      c.close();
    });

    it('a 4001 that comes after the answer reconnects at once with the new token', async () => {
      const { c, states, changed, answer } = await changing();
      answer();
      await changed;
      FakeSocket.last().drop(4001);
      await vi.waitFor(() => expect(FakeSocket.all).toHaveLength(2));
      expect(FakeSocket.last().url).toBe('ws://chat.test/ws?token=new');
      expect(states.filter((s) => s.state === 'closed')).toEqual([]);
      c.close();
    });
  });

  it('rejects pending sends and open requests with CLOSED when closed', async () => {
    const { c } = await connected();
    const send = c.sendMessage({ conversation_id: 7, content: 'late' });
    const edit = c.editMessage(1, 'x');
    c.close();
    // Both at once: each is already refused, and neither may wait unobserved for the other's check.
    await Promise.all([expect(send.acked).rejects.toMatchObject({ code: 'CLOSED' }), expect(edit).rejects.toMatchObject({ code: 'CLOSED' })]);
    expect(c.pendingMessages(7)).toEqual([]);
  });
});
