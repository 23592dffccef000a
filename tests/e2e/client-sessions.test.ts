import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChatClient, type ChatClientOptions, type RefreshClock, type Session, type SessionSharing, type StateChange } from '../../client/chat-client.js';
import { checkedFetch, CheckedWebSocket, nextEvent } from '../support/checked-transport.js';
import { startTestServer, type TestServer } from '../support/test-server.js';
import { sleep } from '../support/ws-client.js';

/** The shortest access-token life the server accepts (JWT_TTL_SECONDS, src/bootstrap/config.ts). */
const TTL_SECONDS = 60;
const PASSWORD = 'correct horse';

let server: TestServer;
const clients: ChatClient[] = [];
const sockets: CheckedWebSocket[] = [];

/** A refresh clock whose timers run only when the test fires them; one never fired is a tab the browser froze. */
class ManualClock implements RefreshClock {
  private lastNow = 0;
  private readonly timers: Array<{ task: () => void; delayMs: number; at: number; live: boolean }> = [];

  now = (): number => (this.lastNow = Date.now());

  schedule = (task: () => void, delayMs: number): (() => void) => {
    const timer = { task, delayMs, at: this.lastNow, live: true };
    this.timers.push(timer);
    return () => void (timer.live = false);
  };

  /** Timers scheduled and neither cancelled nor fired, with the delay asked for and the `now()` it was computed from. */
  get pending(): Array<{ delayMs: number; at: number }> {
    return this.timers.filter((t) => t.live);
  }

  /** Runs the one pending timer now. */
  fire(): void {
    const live = this.timers.filter((t) => t.live);
    expect(live).toHaveLength(1);
    live[0]!.live = false;
    live[0]!.task();
  }
}

interface Observed {
  readonly client: ChatClient;
  readonly clock: ManualClock;
  readonly states: StateChange[];
  /** Every `session` event, in order. */
  readonly sessions: Session[];
  /** Every POST /auth/refresh it made. */
  readonly refreshes: string[];
  /** Every socket it opened (or tried to). */
  readonly sockets: CheckedWebSocket[];
}

/** A client on the test server with zero back-off (every retry goes at once), a manual refresh clock, and everything it does recorded. */
function observed(options: Partial<ChatClientOptions> = {}, refreshes: string[] = []): Observed {
  const own: CheckedWebSocket[] = [];
  class Socket extends CheckedWebSocket {
    constructor(url: string) {
      super(url);
      own.push(this);
      sockets.push(this);
    }
  }
  const clock = new ManualClock();
  const client = new ChatClient({
    baseUrl: `http://127.0.0.1:${server.port}`,
    WebSocket: Socket,
    fetch: (input, init) => {
      if (String(input).endsWith('/auth/refresh')) refreshes.push(String(init?.body));
      return checkedFetch(input, init);
    },
    random: () => 0,
    refreshClock: clock,
    ...options,
  });
  clients.push(client);
  const states: StateChange[] = [];
  const sessions: Session[] = [];
  client.on('state', (s) => states.push(s));
  client.on('session', (s) => sessions.push(s));
  return { client, clock, states, sessions, refreshes, sockets: own };
}

let counter = 0;
const uniqueName = () => `s${process.pid}_${++counter}_${Math.random().toString(36).slice(2, 7)}`;

/** A new user signed in on a new client. */
async function signedIn(options: Partial<ChatClientOptions> = {}): Promise<Observed & { readonly username: string }> {
  const username = uniqueName();
  const o = observed(options);
  await o.client.register({ email: `${username}@example.com`, username, password: PASSWORD, role: 'tenant' });
  return { ...o, username };
}

/** The same user signed in once more, as another device. */
async function anotherDevice(username: string, options: Partial<ChatClientOptions> = {}): Promise<Observed> {
  const o = observed(options);
  await o.client.logIn({ username, password: PASSWORD });
  return o;
}

/**
 * Proves that a client which just closed made no reconnect attempt, without
 * sleeping: a canary client with the same zero back-off is dropped after it and
 * reconnects; any dial the closed client had scheduled would have gone first.
 */
async function expectNoReconnectAttempt(closed: Observed): Promise<void> {
  const dials = closed.sockets.length;
  const states = closed.states.length;
  const canary = await signedIn();
  await canary.client.connect();
  const reopened = nextEvent(canary.client, 'state', (s) => s.state === 'open');
  canary.sockets.at(-1)!.terminate();
  await reopened;
  expect(closed.sockets.length).toBe(dials);
  expect(closed.states.length).toBe(states);
  expect(closed.client.state.state).toBe('closed');
}

/** Clients signed in at the start, left alone until their access tokens have expired. */
let expired: { readonly rest: Observed; readonly prober: Observed; readonly knowing: Observed; readonly parallel: Observed };

beforeAll(async () => {
  server = await startTestServer({ JWT_TTL_SECONDS: String(TTL_SECONDS) });
  const rest = await signedIn();
  // It keeps only the two tokens, not expires_at, so it cannot know the token has run out before the server says so.
  const held = await signedIn();
  const prober = observed({ token: held.client.token!, refreshToken: held.client.refreshToken! });
  const knowing = await signedIn();
  const parallel = await signedIn();
  held.client.close();
  await Promise.all([prober.client.connect(), knowing.client.connect(), parallel.client.connect()]);
  expired = { rest, prober, knowing, parallel };
}, 60_000);

afterAll(async () => {
  for (const c of clients) c.close();
  for (const s of sockets) s.terminate();
  await server?.stop();
});

describe(`the client module keeps a session going (JWT_TTL_SECONDS=${TTL_SECONDS})`, () => {
  it('refreshes on its timer at 80% of the access token’s remaining life, announces the new pair as a session event, and schedules the next refresh', async () => {
    const ann = await signedIn();
    const first = ann.sessions[0]!;
    expect(ann.sessions).toHaveLength(1);
    await ann.client.connect();
    expect(ann.clock.pending).toHaveLength(1);
    const [timer] = ann.clock.pending;
    expect(timer!.delayMs).toBe(Math.floor((Date.parse(first.expires_at) - timer!.at) * 0.8));
    expect(timer!.delayMs).toBeGreaterThan(0.8 * (TTL_SECONDS - 5) * 1000);

    const announced = nextEvent(ann.client, 'session');
    ann.clock.fire();
    const second = await announced;
    expect(ann.refreshes).toHaveLength(1);
    expect(second.user.id).toBe(first.user.id);
    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect([ann.client.token, ann.client.refreshToken]).toEqual([second.token, second.refresh_token]);
    const [next] = ann.clock.pending;
    expect(next!.delayMs).toBe(Math.floor((Date.parse(second.expires_at) - next!.at) * 0.8));
    // Rotation keeps the one session, and the new token works on both REST and /ws.
    expect(await ann.client.sessions()).toEqual([expect.objectContaining({ current: true })]);
    expect(ann.client.state).toEqual({ state: 'open' });
  });

  it('logOut ends the session on the server and closes the client with reason logged-out, without a reconnect attempt', async () => {
    const ben = await signedIn();
    await ben.client.connect();
    const [token, refreshToken] = [ben.client.token!, ben.client.refreshToken!];
    await ben.client.logOut();
    expect(ben.states.at(-1)).toEqual({ state: 'closed', reason: 'logged-out' });
    expect([ben.client.token, ben.client.refreshToken, ben.client.user]).toEqual([null, null, null]);
    expect((await server.http.get('/users/me', token)).status).toBe(401);
    expect((await server.http.post('/auth/refresh', { refresh_token: refreshToken })).status).toBe(401);
    await expectNoReconnectAttempt(ben);
    await expect(ben.client.connect()).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
  });

  it('a session revoked from another device closes the client with reason revoked (close code 4001), without a reconnect attempt', async () => {
    const cat = await signedIn();
    await cat.client.connect();
    const phone = await anotherDevice(cat.username);
    const sessions = await phone.client.sessions();
    expect(sessions.map((s) => s.current).sort()).toEqual([false, true]);
    const closed = nextEvent(cat.client, 'state', (s) => s.state === 'closed');
    await phone.client.revokeSession(sessions.find((s) => !s.current)!.id);
    expect(await closed).toEqual({ state: 'closed', reason: 'revoked', closeCode: 4001 });
    await expectNoReconnectAttempt(cat);
    expect(cat.refreshes).toEqual([]);
    await expect(phone.client.me()).resolves.toMatchObject({ username: cat.username });
  });

  it('a password change closes the user’s other devices (revoked) while the changing client adopts the new pair and reconnects with it', async () => {
    const dan = await signedIn();
    const laptop = await anotherDevice(dan.username);
    await Promise.all([dan.client.connect(), laptop.client.connect()]);
    const reopened = nextEvent(dan.client, 'state', (s) => s.state === 'open');
    const laptopClosed = nextEvent(laptop.client, 'state', (s) => s.state === 'closed');
    const changed = await dan.client.changePassword(PASSWORD, 'battery staple');
    await reopened;
    expect(dan.sessions.at(-1)).toEqual(changed);
    expect(dan.client.token).toBe(changed.token);
    expect(dan.sockets).toHaveLength(2);
    expect(dan.states.filter((s) => s.state === 'closed')).toEqual([]);
    expect(await laptopClosed).toEqual({ state: 'closed', reason: 'revoked', closeCode: 4001 });
    expect(await dan.client.sessions()).toEqual([expect.objectContaining({ current: true })]);
    const relogin = observed();
    await expect(relogin.client.logIn({ username: dan.username, password: PASSWORD })).rejects.toMatchObject({ code: 'INVALID_CREDENTIALS' });
    await expect(relogin.client.logIn({ username: dan.username, password: 'battery staple' })).resolves.toMatchObject({ user: { id: changed.user.id } });
  });

  it('a refresh refused with 401 (the session was revoked meanwhile) closes the client with reason unauthorized and fails the call that needed it', async () => {
    const eve = await signedIn();
    const phone = await anotherDevice(eve.username);
    const other = (await phone.client.sessions()).find((s) => !s.current)!;
    await phone.client.revokeSession(other.id);
    const error = await eve.client.listConversations().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'UNAUTHORIZED', status: 401 });
    expect(eve.refreshes).toHaveLength(1);
    expect(eve.states).toEqual([{ state: 'closed', reason: 'unauthorized' }]);
    expect([eve.client.token, eve.client.refreshToken]).toEqual([null, null]);
    await expect(eve.client.connect()).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
  });

  it('two clients sharing one session through a lock refresh it once between them, and both go on with the pair it got', async () => {
    const fay = await signedIn();
    let stored = fay.sessions[0]!;
    fay.client.close();
    let chain: Promise<unknown> = Promise.resolve();
    const sharing: SessionSharing = {
      exclusive: <T>(task: () => Promise<T>) => {
        const run = chain.then(task);
        chain = run.catch(() => undefined);
        return run;
      },
      latest: () => stored,
    };
    const refreshes: string[] = [];
    const tabs = [0, 1].map(() =>
      observed({ token: stored.token, refreshToken: stored.refresh_token, expiresAt: stored.expires_at, sessionSharing: sharing }, refreshes),
    );
    for (const tab of tabs) tab.client.on('session', (s) => (stored = s));
    await Promise.all(tabs.map((t) => t.client.connect()));

    for (let round = 1; round <= 2; round++) {
      // Both timers come due together, as in two tabs opened on one stored pair.
      const announced = tabs.map((t) => nextEvent(t.client, 'session'));
      for (const tab of tabs) tab.clock.fire();

      await Promise.all(announced);
      expect(refreshes).toHaveLength(round);
      expect(tabs.map((t) => t.client.refreshToken)).toEqual([stored.refresh_token, stored.refresh_token]);
    }
    // A replayed refresh token would have ended the session: both still work over REST and /ws.
    await Promise.all(tabs.map((t) => expect(t.client.me()).resolves.toMatchObject({ id: stored.user.id })));
    expect(tabs.map((t) => t.client.state)).toEqual([{ state: 'open' }, { state: 'open' }]);
    expect(await tabs[0]!.client.sessions()).toHaveLength(1);
  });
});

describe('after the access token has expired', () => {
  beforeAll(async () => {
    // The server accepts a token until 30 s past its expiry (clock tolerance): wait until it refuses each of them.
    const tokens = Object.values(expired).map((o) => o.client.token!);
    const deadline = Date.now() + (TTL_SECONDS + 30 + 30) * 1000;
    for (const token of tokens) {
      while ((await server.http.get('/users/me', token)).status !== 401) {
        if (Date.now() > deadline) throw new Error('the access tokens never expired');
        await sleep(1_000);
      }
    }
  }, 150_000);

  it('a REST call refused with 401 succeeds after one refresh, announced as a session event', async () => {
    const { client, refreshes, sessions } = expired.rest;
    const stale = client.token;
    await expect(client.listConversations()).resolves.toEqual({ conversations: [], next_cursor: null });
    expect(refreshes).toHaveLength(1);
    expect(client.token).not.toBe(stale);
    expect(sessions.at(-1)!.token).toBe(client.token);
    expect(client.state).toEqual({ state: 'idle' });
  });

  it('a reconnect refused at the upgrade refreshes through the /users/me probe and dials again at once with the new token', async () => {
    const { client, refreshes, sockets: dialed, states } = expired.prober;
    const stale = client.token;
    const before = states.length;
    const reopened = nextEvent(client, 'state', (s) => s.state === 'open');
    dialed.at(-1)!.terminate();
    await reopened;
    expect(states.slice(before)).toEqual([{ state: 'reconnecting', attempt: 1, delayMs: 0, closeCode: 1006 }, { state: 'connecting' }, { state: 'open' }]);
    // The first dial used the expired token and was refused; the second used the new one.
    expect(dialed).toHaveLength(3);
    expect(refreshes).toHaveLength(1);
    expect(client.token).not.toBe(stale);
  });

  it('a reconnect that knows expires_at refreshes before it dials: one refresh, one dial, no refused upgrade', async () => {
    const { client, refreshes, sockets: dialed, states } = expired.knowing;
    const before = states.length;
    const reopened = nextEvent(client, 'state', (s) => s.state === 'open');
    dialed.at(-1)!.terminate();
    await reopened;
    expect(states.slice(before)).toEqual([{ state: 'reconnecting', attempt: 1, delayMs: 0, closeCode: 1006 }, { state: 'connecting' }, { state: 'open' }]);
    expect(dialed).toHaveLength(2);
    expect(refreshes).toHaveLength(1);
  });

  it('a reconnect and two REST calls that need a refresh at the same moment cause exactly one POST /auth/refresh, and the session survives', async () => {
    const { client, refreshes, sockets: dialed, states } = expired.parallel;
    const reopened = nextEvent(client, 'state', (s) => s.state === 'open');
    dialed.at(-1)!.terminate();
    const [me] = await Promise.all([client.me(), client.listConversations()]);
    await reopened;
    expect(refreshes).toHaveLength(1);
    // A second refresh would have presented the spent refresh token, which ends the session: 401 and 4001 everywhere.
    expect((await server.http.get('/users/me', client.token!)).status).toBe(200);
    expect(await client.sessions()).toEqual([expect.objectContaining({ current: true })]);
    expect(me.id).toBe(client.user!.id);
    expect(states.filter((s) => s.state === 'closed')).toEqual([]);
    expect(client.state).toEqual({ state: 'open' });
  });
});
