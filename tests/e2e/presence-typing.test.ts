import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase } from '../support/database.js';
import { HttpClient } from '../support/http-client.js';
import { killAll, startProcess, type ServerProcess, PROCESS_TEST_ENV } from '../support/server-process.js';
import { WsClient, type Frame } from '../support/ws-client.js';

type U = { id: number; token: string; username: string };
const SECRET = 'AHed4hz-zivIDjmFluBPqXzLH3dP66QS900EoqigwWjjoUVp';
let databaseUrl: string;
let p1: ServerProcess, p2: ServerProcess;
let http: HttpClient;
let ws1: string, ws2: string;
const clients: WsClient[] = [];

// Default presence settings (5 s grace, 20 s lease): the figures the product promises are the ones tested.
const env = () => ({ ...PROCESS_TEST_ENV, DATABASE_URL: databaseUrl, JWT_SECRET: SECRET });
const connect = async (url: string, u: U) => {
  const c = await WsClient.connect(url, u.token);
  clients.push(c);
  return c;
};
const presenceOf = (frames: Frame[], userId: number) =>
  frames.filter((f) => f.event === 'presence' && f.data.user_id === userId).map((f) => f.data.online as boolean);

beforeAll(async () => {
  databaseUrl = await freshDatabase('presence');
  [p1, p2] = await Promise.all([startProcess(env()), startProcess(env())]);
  const [port1, port2] = [p1.port, p2.port];
  http = new HttpClient(`http://127.0.0.1:${port1}`);
  ws1 = `ws://127.0.0.1:${port1}/ws`;
  ws2 = `ws://127.0.0.1:${port2}/ws`;
}, 60_000);

afterAll(() => {
  for (const c of clients) c.socket.terminate();
  killAll();
});

/** Alice on one process, Bob on the other, in one conversation; Eve shares another conversation with Alice only. */
async function cast() {
  const [alice, bob, eve] = [await http.register(), await http.register(), await http.register()];
  const conversation = (await http.post('/conversations', { participant_ids: [bob.id] }, alice.token)).body.id as number;
  const withEve = (await http.post('/conversations', { participant_ids: [eve.id] }, alice.token)).body.id as number;
  return { alice, bob, eve, conversation, withEve };
}

describe('presence across two processes', () => {
  it('goes online with the first connection, stays through one of two closing and a quick reconnect, goes offline with the last', async () => {
    const { alice, bob, conversation } = await cast();
    const b = await connect(ws2, bob);
    const a1 = await connect(ws1, alice);
    const online = await b.event('presence', (d) => d.user_id === alice.id, 10_000);
    expect(online.data).toEqual({ user_id: alice.id, online: true, last_seen_at: null });

    const a2 = await connect(ws1, alice);
    await a1.close();
    // A reconnect on the other process within the grace period: still no change anywhere.
    await a2.close();
    const a3 = await connect(ws2, alice);
    // Past the grace period, a message from Alice proves Bob's connection is live and up to date.
    await new Promise((r) => setTimeout(r, 6_500));
    const sent = await a3.request('sendMessage', { conversation_id: conversation, content: 'still here' });
    await b.event('receiveMessage', (d) => d.id === sent.data.id);
    expect(presenceOf(b.frames, alice.id)).toEqual([true]);

    const closedAt = Date.now();
    await a3.close();
    const offline = await b.event('presence', (d) => d.user_id === alice.id && d.online === false, 15_000);
    expect(Date.now() - closedAt).toBeGreaterThanOrEqual(4_500);
    expect(Math.abs(new Date(offline.data.last_seen_at).getTime() - closedAt)).toBeLessThan(2_000);
    expect(presenceOf(b.frames, alice.id)).toEqual([true, false]);

    const participants = await http.get(`/conversations/${conversation}/participants`, bob.token);
    expect(participants.status).toBe(200);
    const alicePresence = participants.body.participants.find((p: { id: number }) => p.id === alice.id);
    expect(alicePresence).toMatchObject({ id: alice.id, username: alice.username, online: false, last_seen_at: offline.data.last_seen_at });
    expect(participants.body.participants.find((p: { id: number }) => p.id === bob.id)).toMatchObject({ online: true, last_seen_at: null });
  }, 60_000);

  it('shows participants online in joinConversation, and ends the presence of a process killed with SIGKILL within 30 s', async () => {
    const { alice, bob, conversation } = await cast();
    const p3 = await startProcess(env());
    const port3 = p3.port;
    const b = await connect(ws2, bob);
    const a = await connect(`ws://127.0.0.1:${port3}/ws`, alice);
    await b.event('presence', (d) => d.user_id === alice.id && d.online, 10_000);
    const joined = await b.request('joinConversation', { conversation_id: conversation });
    expect(joined.data.conversation.participants).toEqual(
      expect.arrayContaining([
        { id: alice.id, username: alice.username, display_name: null, role: 'tenant', picture_url: null, online: true, last_seen_at: null },
      ]),
    );
    const killedAt = Date.now();
    p3.child.kill('SIGKILL');
    await a.closed;
    const offline = await b.event('presence', (d) => d.user_id === alice.id && d.online === false, 35_000);
    expect(Date.now() - killedAt).toBeLessThan(30_000);
    expect(offline.data.last_seen_at).toEqual(expect.any(String));
  }, 60_000);
});

describe('typing across two processes', () => {
  it('reaches the other participants, throttled, ended by a message, and never an outsider or the typist', async () => {
    const { alice, bob, eve, conversation, withEve } = await cast();
    const [b, e, aOther] = [await connect(ws2, bob), await connect(ws2, eve), await connect(ws2, alice)];
    const a = await connect(ws1, alice);
    expect((await a.request('typing', { conversation_id: conversation })).data).toEqual({ conversation_id: conversation, is_typing: true });
    const typing = await b.event('typing', (d) => d.user_id === alice.id);
    expect(typing.data).toEqual({ conversation_id: conversation, user_id: alice.id, is_typing: true });
    // Within the throttle window a renewal is acknowledged but not announced again.
    await a.request('typing', { conversation_id: conversation, is_typing: true });
    const sent = await a.request('sendMessage', { conversation_id: conversation, content: 'done typing' });
    const ended = await b.event('typing', (d) => d.user_id === alice.id && d.is_typing === false);
    await b.event('receiveMessage', (d) => d.id === sent.data.id);
    expect(b.frames.indexOf(ended)).toBeGreaterThan(b.frames.indexOf(typing));
    expect(b.frames.filter((f) => f.event === 'typing').map((f) => f.data.is_typing)).toEqual([true, false]);

    // Positive signals for the outsider and for the typist's other connection: typing where they do receive it.
    await a.request('typing', { conversation_id: withEve });
    await e.event('typing', (d) => d.conversation_id === withEve);
    await aOther.event('receiveMessage', (d) => d.id === sent.data.id);
    expect(e.frames.filter((f) => f.event === 'typing').map((f) => f.data.conversation_id)).toEqual([withEve]);
    expect(aOther.frames.filter((f) => f.event === 'typing')).toEqual([]);

    const refused = await e.request('typing', { conversation_id: conversation });
    expect(refused.error?.code).toBe('CONVERSATION_NOT_FOUND');
    expect((await e.request('typing', { conversation_id: conversation, is_typing: 'yes' })).error?.code).toBe('VALIDATION_FAILED');
  }, 30_000);
});
