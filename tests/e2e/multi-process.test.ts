import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase } from '../support/database.js';
import { HttpClient } from '../support/http-client.js';
import { killAll, startProcess, type ServerProcess, PROCESS_TEST_ENV } from '../support/server-process.js';
import { WsClient } from '../support/ws-client.js';
import { eventually, receivedIds } from '../support/eventually.js';

type U = { id: number; token: string; username: string };
const SECRET = 'NeW_cX3Pvjf7ZZsqTH5Vprr5VtQItEThsQpAxhpySUortmLf';
let databaseUrl: string;
let p1: ServerProcess, p2: ServerProcess;
let http1: HttpClient, http2: HttpClient;
let ws1: string, ws2: string;
const clients: WsClient[] = [];

// Four write lanes (one is the default), so concurrent lanes and their cursors are exercised.
const env = () => ({ ...PROCESS_TEST_ENV, DATABASE_URL: databaseUrl, JWT_SECRET: SECRET, WRITE_LANES: '4' });
const connect = async (url: string, u: U) => {
  const c = await WsClient.connect(url, u.token);
  clients.push(c);
  return c;
};
const ids = receivedIds;

beforeAll(async () => {
  databaseUrl = await freshDatabase('multi');
  [p1, p2] = await Promise.all([startProcess(env()), startProcess(env())]);
  const [port1, port2] = [p1.port, p2.port];
  http1 = new HttpClient(`http://127.0.0.1:${port1}`);
  http2 = new HttpClient(`http://127.0.0.1:${port2}`);
  ws1 = `ws://127.0.0.1:${port1}/ws`;
  ws2 = `ws://127.0.0.1:${port2}/ws`;
}, 60_000);

afterAll(() => {
  for (const c of clients) c.socket.terminate();
  killAll();
});

describe('two server processes on one database', () => {
  it('carry a conversation with every event between participants on different processes, and nobody else', async () => {
    const [alice, bob, eve] = [await http1.register(), await http2.register(), await http2.register()];
    const conv = (await http1.post('/conversations', { participant_ids: [bob.id] }, alice.token)).body;
    const [a, b, e] = [await connect(ws1, alice), await connect(ws2, bob), await connect(ws2, eve)];

    const sent = await a.request('sendMessage', { conversation_id: conv.id, content: 'across processes' });
    expect((await b.event('receiveMessage', (d) => d.id === sent.data.id)).data).toEqual(sent.data);
    await a.event('receiveMessage', (d) => d.id === sent.data.id);
    const reply = await b.request('sendMessage', { conversation_id: conv.id, content: 'and back' });
    await a.event('receiveMessage', (d) => d.id === reply.data.id);

    await a.request('editMessage', { message_id: sent.data.id, content: 'edited on p1' });
    expect((await b.event('messageUpdated', (d) => d.id === sent.data.id)).data.content).toBe('edited on p1');
    await b.request('markRead', { conversation_id: conv.id, message_id: sent.data.id });
    await a.event('readReceipt', (d) => d.user_id === bob.id && d.message_id === sent.data.id);
    await a.request('deleteMessage', { message_id: sent.data.id });
    await b.event('messageDeleted', (d) => d.id === sent.data.id);

    // Membership changes made on one process take effect on the other.
    const carol = await http2.register();
    const c = await connect(ws2, carol);
    const group = (await http1.post('/conversations', { participant_ids: [bob.id], title: 'cross' }, alice.token)).body;
    await http1.post(`/conversations/${group.id}/participants`, { user_id: carol.id }, alice.token);
    await c.event('participantAdded', (d) => d.user.id === carol.id);
    const hello = await a.request('sendMessage', { conversation_id: group.id, content: 'hello carol' });
    await c.event('receiveMessage', (d) => d.id === hello.data.id);
    // Carol's process has her membership cached from that send; the removal on p1 must reach it.
    expect((await c.request('sendMessage', { conversation_id: group.id, content: 'carol here' })).event).toBe('ack');
    await http1.del(`/conversations/${group.id}/participants/${carol.id}`, alice.token);
    await c.event('participantRemoved', (d) => d.user_id === carol.id);
    expect((await c.request('sendMessage', { conversation_id: group.id, content: 'still here?' })).error?.code).toBe('CONVERSATION_NOT_FOUND');
    const after = await a.request('sendMessage', { conversation_id: group.id, content: 'carol is gone' });
    await b.event('receiveMessage', (d) => d.id === after.data.id);
    // Committed after it, on the same stream: once Carol has this one, she would have had the other.
    const direct = (await http1.post('/conversations', { participant_ids: [carol.id] }, alice.token)).body;
    const marker = await a.request('sendMessage', { conversation_id: direct.id, content: 'for carol' });
    await c.event('receiveMessage', (d) => d.id === marker.data.id);
    expect(ids(c.frames, group.id).filter((id) => id !== undefined)).toContain(hello.data.id);
    expect(ids(c.frames, group.id)).not.toContain(after.data.id);
    expect(e.frames).toEqual([]);
  });

  it('delivers concurrent streams from both processes in one order to everybody', async () => {
    const [alice, bob] = [await http1.register(), await http2.register()];
    const conv = (await http1.post('/conversations', { participant_ids: [bob.id] }, alice.token)).body;
    const [a1, a2, b1, b2] = [await connect(ws1, alice), await connect(ws2, alice), await connect(ws2, bob), await connect(ws1, bob)];
    const acks = await Promise.all([
      ...Array.from({ length: 150 }, (_, i) => a1.request('sendMessage', { conversation_id: conv.id, content: `a${i}` })),
      ...Array.from({ length: 150 }, (_, i) => b1.request('sendMessage', { conversation_id: conv.id, content: `b${i}` })),
    ]);
    // A last message once every ack is in: when it has arrived everywhere, so has any duplicate there could be.
    const last = await a1.request('sendMessage', { conversation_id: conv.id, content: 'last' });
    const sentIds = [...acks, last].map((f) => f.data.id as number).sort((x, y) => x - y);
    for (const c of [a1, a2, b1, b2]) await c.event('receiveMessage', (d) => d.id === last.data.id, 15_000);
    for (const c of [a1, a2, b1, b2]) expect(ids(c.frames, conv.id)).toEqual(sentIds);
  });

  it('with concurrent writers on both processes in every write lane, and a LISTEN outage mid-stream, delivers each conversation once and in id order everywhere, and `since` is exact', async () => {
    // Six conversations: with four lanes, several share a lane and every lane has one.
    const pairs = await Promise.all(
      Array.from({ length: 6 }, async () => {
        const [x, y] = [await http1.register(), await http2.register()];
        const conv = (await http1.post('/conversations', { participant_ids: [y.id] }, x.token)).body.id as number;
        return { x, y, conv };
      }),
    );
    const lanes = new Set(pairs.map((p) => p.conv % 4));
    expect(lanes.size).toBe(4);
    const watchers = await Promise.all(pairs.flatMap((p) => [connect(ws1, p.y), connect(ws2, p.x)]));
    const senders = await Promise.all(pairs.flatMap((p) => [connect(ws1, p.x), connect(ws2, p.y)]));
    const admin = new pg.Client({ connectionString: databaseUrl });
    await admin.connect();
    const acked = new Map<number, number[]>(pairs.map((p) => [p.conv, []]));
    try {
      for (let round = 0; round < 40; round++) {
        const frames = await Promise.all(
          senders.map((s, i) => s.request('sendMessage', { conversation_id: pairs[Math.floor(i / 2)]!.conv, content: `r${round}s${i}` })),
        );
        frames.forEach((f, i) => acked.get(pairs[Math.floor(i / 2)]!.conv)!.push(f.data.id));
        if (round === 15) {
          await admin.query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'chat-backend-listen' AND datname = current_database()",
          );
        }
      }
    } finally {
      await admin.end();
    }
    for (const [i, w] of watchers.entries()) {
      const conv = pairs[Math.floor(i / 2)]!.conv;
      const expected = [...acked.get(conv)!].sort((a, b) => a - b);
      await eventually(() => ids(w.frames, conv).length >= expected.length, 30_000);
      expect(ids(w.frames, conv)).toEqual(expected);
    }
    // Catch-up from the middle of each conversation returns exactly the rest, in order.
    for (const [i, p] of pairs.entries()) {
      const all = [...acked.get(p.conv)!].sort((a, b) => a - b);
      const joined = await senders[i * 2]!.request('joinConversation', { conversation_id: p.conv, since: all[39] });
      expect(joined.data.messages.map((m: { id: number }) => m.id)).toEqual(all.slice(40));
    }
  }, 90_000);

  it('carries large messages, large batches and large edits by reference', async () => {
    const [alice, bob] = [await http1.register(), await http2.register()];
    const conv = (await http1.post('/conversations', { participant_ids: [bob.id] }, alice.token)).body;
    const [a, b] = [await connect(ws1, alice), await connect(ws2, bob)];
    const long = 'é'.repeat(9_000); // 18,000 bytes: far over the NOTIFY limit on its own
    const big = await a.request('sendMessage', { conversation_id: conv.id, content: long });
    expect((await b.event('receiveMessage', (d) => d.id === big.data.id)).data.content).toBe(long);
    const batch = await Promise.all(
      Array.from({ length: 40 }, (_, i) => a.request('sendMessage', { conversation_id: conv.id, content: `${i}:${'x'.repeat(1_500)}` })),
    );
    await eventually(() => batch.every((f) => ids(b.frames, conv.id).includes(f.data.id)));
    await a.request('editMessage', { message_id: big.data.id, content: long.replace('é', 'e') });
    expect((await b.event('messageUpdated', (d) => d.id === big.data.id)).data.content).toBe(long.replace('é', 'e'));
  });

  it('loses nothing and doubles nothing when the LISTEN connections are killed mid-stream', async () => {
    const [alice, bob] = [await http1.register(), await http2.register()];
    const conv = (await http1.post('/conversations', { participant_ids: [bob.id] }, alice.token)).body;
    const watchers = [await connect(ws1, alice), await connect(ws2, bob), await connect(ws1, bob), await connect(ws2, alice)];
    const sender = await connect(ws1, alice);
    const admin = new pg.Client({ connectionString: databaseUrl });
    await admin.connect();
    const sent: number[] = [];
    const outagesBefore = (await http2.get('/readyz')).body.fanout.outages as number;
    try {
      for (let i = 0; i < 300; i++) {
        const ack = await sender.request('sendMessage', { conversation_id: conv.id, content: `s${i}`, client_id: `kill-${i}` });
        expect(ack.event).toBe('ack');
        sent.push(ack.data.id);
        if (i === 60 || i === 180) {
          const killed = await admin.query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'chat-backend-listen' AND datname = current_database()",
          );
          expect(killed.rowCount).toBe(2);
        }
      }
    } finally {
      await admin.end();
    }
    // A last message, sent once the stream is over: when it has arrived everywhere, so has anything that could be doubled.
    const last = await sender.request('sendMessage', { conversation_id: conv.id, content: 'the end' });
    sent.push(last.data.id);
    for (const w of watchers) await w.event('receiveMessage', (d) => d.id === last.data.id, 30_000);
    for (const w of watchers) expect(ids(w.frames, conv.id)).toEqual(sent);
    const ready = await http2.get('/readyz');
    expect(ready.body.fanout).toMatchObject({ state: 'live', outages: outagesBefore + 2, broker: { broker: 'postgres', state: 'up' } });
    expect(p2.output()).toMatch(/fan-out broker lost; holding until it is back/);
    expect(p2.output()).toMatch(/fan-out broker back; missed messages replayed/);
    // The outages really cost notifications on the receiving process: the missed messages came from the replay.
    expect(p2.output()).toMatch(/"replayed":[1-9]/);
  });

  it('skips a notification it cannot parse, logs it, and keeps listening', async () => {
    const admin = new pg.Client({ connectionString: databaseUrl });
    await admin.connect();
    await admin.query("NOTIFY chat_fanout, 'this is not json'");
    await admin.query(`NOTIFY chat_fanout, '{"n":"x","t":"c","c":"not a number"}'`);
    await admin.end();
    await p1.waitFor('dropped a fan-out notification', 5_000);
    const [alice, bob] = [await http1.register(), await http2.register()];
    const conv = (await http1.post('/conversations', { participant_ids: [bob.id] }, alice.token)).body;
    const b = await connect(ws1, bob);
    const m = await http2.post(`/conversations/${conv.id}/messages`, { content: 'still flowing' }, alice.token);
    await b.event('receiveMessage', (d) => d.id === m.body.id);
  });
});
