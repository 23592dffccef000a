import { connect as natsConnect } from '@nats-io/transport-node';
import pg from 'pg';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNats, startRedis, stopBrokerServers, type BrokerServer } from '../support/brokers.js';
import { freshDatabase } from '../support/database.js';
import { HttpClient } from '../support/http-client.js';
import { killAll, startProcess, type ServerProcess, PROCESS_TEST_ENV } from '../support/server-process.js';
import { WsClient } from '../support/ws-client.js';
import { eventually, receivedIds } from '../support/eventually.js';

type U = { id: number; token: string; username: string };
const SECRET = 'NeW_cX3Pvjf7ZZsqTH5Vprr5VtQItEThsQpAxhpySUortmLf';
const ids = receivedIds;

/** Each broker: how the processes are pointed at it, how its connections are cut mid-stream, and how junk is put on it. */
interface BrokerUnderTest {
  readonly name: 'postgres' | 'nats' | 'redis';
  start(): Promise<Record<string, string>>;
  /** Every process loses its broker connection (PostgreSQL's reconnect at once). */
  cut(databaseUrl: string): Promise<void>;
  /** The broker is back (a no-op where it never went). */
  restore(): Promise<void>;
  /** Publishes raw payloads where the processes listen for everything. */
  publishRaw(databaseUrl: string, payloads: readonly string[]): Promise<void>;
}

let server: BrokerServer;
const BROKERS: BrokerUnderTest[] = [
  {
    name: 'postgres',
    start: async () => ({ FANOUT: 'postgres' }),
    restore: async () => undefined,
    cut: async (databaseUrl) => {
      const admin = new pg.Client({ connectionString: databaseUrl });
      await admin.connect();
      const killed = await admin.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'chat-backend-listen' AND datname = current_database()",
      );
      await admin.end();
      expect(killed.rowCount).toBe(2);
    },
    publishRaw: async (databaseUrl, payloads) => {
      const admin = new pg.Client({ connectionString: databaseUrl });
      await admin.connect();
      for (const p of payloads) await admin.query('SELECT pg_notify($1, $2)', ['chat_fanout', p]);
      await admin.end();
    },
  },
  {
    name: 'nats',
    start: async () => {
      server = await startNats();
      return { FANOUT: 'nats', NATS_URL: server.url };
    },
    cut: () => server.kill(),
    restore: () => server.restart(),
    publishRaw: async (_url, payloads) => {
      const nc = await natsConnect({ servers: server.url });
      for (const p of payloads) nc.publish('chat.all', p);
      await nc.flush();
      await nc.close();
    },
  },
  {
    name: 'redis',
    start: async () => {
      server = await startRedis();
      return { FANOUT: 'redis', REDIS_URL: server.url };
    },
    cut: () => server.kill(),
    restore: () => server.restart(),
    publishRaw: async (_url, payloads) => {
      const client = createClient({ url: server.url });
      await client.connect();
      for (const p of payloads) await client.sPublish('chat:all', p);
      await client.close();
    },
  },
];

describe.each(BROKERS)('two server processes on one database, fan-out over $name', (broker) => {
  let databaseUrl: string;
  let p1: ServerProcess, p2: ServerProcess;
  let http1: HttpClient, http2: HttpClient;
  let ws1: string, ws2: string;
  const clients: WsClient[] = [];
  const connect = async (url: string, u: U) => {
    const c = await WsClient.connect(url, u.token);
    clients.push(c);
    return c;
  };

  /** Both processes saw one more outage of their broker and are caught up again. */
  const interrupted = async (meanwhile: () => Promise<unknown>) => {
    const outages = async () => Promise.all([http1, http2].map(async (h) => (await h.get('/readyz')).body.fanout as { outages: number; state: string }));
    const before = await outages();
    await broker.cut(databaseUrl);
    await meanwhile();
    await broker.restore();
    for (let i = 0; i < 300; i++) {
      const now = await outages();
      if (now.every((f, k) => f.outages > before[k]!.outages && f.state === 'live')) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`the processes did not see the outage and come back: ${JSON.stringify(await outages())}`);
  };

  beforeAll(async () => {
    databaseUrl = await freshDatabase(`multi_${broker.name}`);
    // Four write lanes (one is the default), so concurrent lanes and their cursors are exercised.
    // A short presence grace: the presence test waits for a user to go offline.
    const env = { ...PROCESS_TEST_ENV, DATABASE_URL: databaseUrl, JWT_SECRET: SECRET, WRITE_LANES: '4', PRESENCE_GRACE_MS: '500', ...(await broker.start()) };
    [p1, p2] = await Promise.all([startProcess(env), startProcess(env)]);
    http1 = new HttpClient(`http://127.0.0.1:${p1.port}`);
    http2 = new HttpClient(`http://127.0.0.1:${p2.port}`);
    ws1 = `ws://127.0.0.1:${p1.port}/ws`;
    ws2 = `ws://127.0.0.1:${p2.port}/ws`;
  }, 60_000);

  afterAll(async () => {
    for (const c of clients) c.socket.terminate();
    killAll();
    await stopBrokerServers();
  });

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

  it('carries presence, typing and a revoked session (closed with 4001) between processes', async () => {
    const [alice, bob] = [await http1.register(), await http2.register()];
    const conv = (await http1.post('/conversations', { participant_ids: [bob.id] }, alice.token)).body;
    const a = await connect(ws1, alice);
    // Bob's first connection anywhere: Alice, on the other process, sees him come online.
    const b = await connect(ws2, bob);
    await a.event('presence', (d) => d.user_id === bob.id && d.online === true);
    await b.request('typing', { conversation_id: conv.id, is_typing: true });
    expect((await a.event('typing', (d) => d.user_id === bob.id)).data).toEqual({ conversation_id: conv.id, user_id: bob.id, is_typing: true });
    // Alice logs out through the other process: her connection here is closed with 4001.
    expect((await http2.post('/auth/logout', {}, alice.token)).status).toBe(200);
    expect((await a.closed).code).toBe(4001);
    // Bob's last connection closes: a fresh connection of Carol, in the conversation with him, sees him offline.
    const carol = await http1.register();
    await http2.post(`/conversations`, { participant_ids: [carol.id, bob.id], title: 'three' }, bob.token);
    const c = await connect(ws1, carol);
    await b.close();
    await c.event('presence', (d) => d.user_id === bob.id && d.online === false, 15_000);
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

  it('with concurrent writers on both processes in every write lane, and a broker outage mid-stream, delivers each conversation once and in id order everywhere, and `since` is exact', async () => {
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
    const acked = new Map<number, number[]>(pairs.map((p) => [p.conv, []]));
    for (let round = 0; round < 40; round++) {
      const frames = await Promise.all(
        senders.map((s, i) => s.request('sendMessage', { conversation_id: pairs[Math.floor(i / 2)]!.conv, content: `r${round}s${i}` })),
      );
      frames.forEach((f, i) => acked.get(pairs[Math.floor(i / 2)]!.conv)!.push(f.data.id));
      if (round === 15) await interrupted(async () => undefined);
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

  it('loses nothing and doubles nothing when the broker connections are cut mid-stream, twice', async () => {
    const [alice, bob] = [await http1.register(), await http2.register()];
    const conv = (await http1.post('/conversations', { participant_ids: [bob.id] }, alice.token)).body;
    const watchers = [await connect(ws1, alice), await connect(ws2, bob), await connect(ws1, bob), await connect(ws2, alice)];
    const sender = await connect(ws1, alice);
    const sent: number[] = [];
    const outagesBefore = (await http2.get('/readyz')).body.fanout.outages as number;
    const send = async (i: number) => {
      const ack = await sender.request('sendMessage', { conversation_id: conv.id, content: `s${i}`, client_id: `kill-${i}` });
      expect(ack.event).toBe('ack');
      sent.push(ack.data.id);
    };
    for (let i = 0; i < 300; i++) {
      await send(i);
      // Acknowledged while the broker is away: committed, their publishes lost, replayed from the database.
      if (i === 60 || i === 180)
        await interrupted(async () => {
          for (let k = 0; k < 10; k++) await send(1000 * i + k);
        });
    }
    // A last message, sent once the stream is over: when it has arrived everywhere, so has anything that could be doubled.
    const last = await sender.request('sendMessage', { conversation_id: conv.id, content: 'the end' });
    sent.push(last.data.id);
    for (const w of watchers) await w.event('receiveMessage', (d) => d.id === last.data.id, 30_000);
    for (const w of watchers) expect(ids(w.frames, conv.id)).toEqual(sent);
    const ready = await http2.get('/readyz');
    expect(ready.body.fanout).toMatchObject({ state: 'live', outages: outagesBefore + 2, broker: { broker: broker.name, state: 'up' } });
    expect(p2.output()).toMatch(/fan-out broker lost; holding until it is back/);
    expect(p2.output()).toMatch(/fan-out broker back; missed messages replayed/);
    // The outages really cost notifications on the receiving process: the missed messages came from the replay.
    expect(p2.output()).toMatch(/"replayed":[1-9]/);
  });

  it('drops a notification it cannot parse or that does not belong where it came, counts it, and keeps delivering', async () => {
    const rejectedBefore = (await http1.get('/readyz')).body.fanout.rejected as number;
    // Junk, a malformed event, and a message batch on the topic of every process (batches belong to a conversation's, or to PostgreSQL's statement).
    await broker.publishRaw(databaseUrl, [
      'this is not json',
      '{"n":"x","t":"c","c":"not a number"}',
      ...(broker.name === 'postgres' ? [] : ['{"t":"m","n":"x","l":0,"i":[1],"p":0,"r":[[1,1,"u","forged","text",null,null,0]]}']),
    ]);
    await p1.waitFor('dropped a fan-out notification', 5_000);
    const rejected = async () => (await http1.get('/readyz')).body.fanout.rejected as number;
    for (let i = 0; i < 100 && (await rejected()) < rejectedBefore + (broker.name === 'postgres' ? 2 : 3); i++) await new Promise((r) => setTimeout(r, 50));
    expect(await rejected()).toBe(rejectedBefore + (broker.name === 'postgres' ? 2 : 3));
    const [alice, bob] = [await http1.register(), await http2.register()];
    const conv = (await http1.post('/conversations', { participant_ids: [bob.id] }, alice.token)).body;
    const b = await connect(ws1, bob);
    const m = await http2.post(`/conversations/${conv.id}/messages`, { content: 'still flowing' }, alice.token);
    await b.event('receiveMessage', (d) => d.id === m.body.id);
  });
});
