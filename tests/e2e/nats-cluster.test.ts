import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNatsCluster, stopBrokerServers, type NatsCluster } from '../support/brokers.js';
import { freshDatabase } from '../support/database.js';
import { eventually, receivedIds } from '../support/eventually.js';
import { HttpClient } from '../support/http-client.js';
import { killAll, PROCESS_TEST_ENV, startProcess, type ServerProcess } from '../support/server-process.js';
import { sleep, WsClient, type Frame } from '../support/ws-client.js';

type U = { id: number; token: string; username: string };
interface FanoutReadiness {
  readonly state: string;
  readonly outages: number;
  readonly broker: { readonly state: string };
}

const fanout = async (http: HttpClient) => (await http.get('/readyz')).body.fanout as FanoutReadiness;

/** Polls a process's `/readyz` until its fan-out state passes `check`. */
async function until(http: HttpClient, check: (f: FanoutReadiness) => boolean, timeoutMs = 15_000): Promise<FanoutReadiness> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = await fanout(http);
    if (check(state)) return state;
    if (Date.now() > deadline) throw new Error(`fan-out state not reached in time: ${JSON.stringify(state)}`);
    await sleep(25);
  }
}

const live = (f: FanoutReadiness) => f.state === 'live' && f.broker.state === 'up';

/** The client connections open on each node, as `<node>:<cid>` (a dead node has none). */
async function connections(cluster: NatsCluster): Promise<Set<string>> {
  const lists = await Promise.all(
    cluster.monitors.map(async (monitor, node) => {
      const body = await fetch(`${monitor}/connz`)
        .then((r) => r.json() as Promise<{ connections?: Array<{ cid: number }> }>)
        .catch(() => ({ connections: [] }));
      return (body.connections ?? []).map((c) => `${node}:${c.cid}`);
    }),
  );
  return new Set(lists.flat());
}

/** The node of the one connection opened since `before`. */
async function attachedSince(cluster: NatsCluster, before: ReadonlySet<string>): Promise<number> {
  let added: string[] = [];
  for (let i = 0; i < 100; i++) {
    added = [...(await connections(cluster))].filter((c) => !before.has(c));
    if (added.length === 1) return Number(added[0]!.split(':')[0]);
    await sleep(50);
  }
  throw new Error(`expected one new connection on the cluster, found ${JSON.stringify(added)}`);
}

/** The next frame of an event, not counting those already received. */
const next = (client: WsClient, event: string): Promise<Frame> => {
  const earlier = new Set(client.received(event));
  return client.waitFor((f) => f.event === event && !earlier.has(f));
};

// Broker behaviour, not transport behaviour: once per Node.js, on its first transport (uWS on Node 20, the Node transport on Node 24).
describe.skipIf(!process.env.TEST_FIRST_TRANSPORT)('two server processes on a three-node NATS cluster, each attached to its own node', () => {
  let cluster: NatsCluster;
  let p1: ServerProcess, p2: ServerProcess;
  let http1: HttpClient, http2: HttpClient;
  /** The node each process is attached to, and the third, attached to neither. */
  let node1: number, node2: number, spare: number;
  let alice: U, bob: U;
  let a: WsClient, b: WsClient;
  let conv: number;
  /** Every message acknowledged in the conversation, by either side. */
  const acked: number[] = [];

  const start = async (env: Record<string, string>) => {
    const before = await connections(cluster);
    const p = await startProcess(env);
    const http = new HttpClient(`http://127.0.0.1:${p.port}`);
    await until(http, live);
    return { p, http, node: await attachedSince(cluster, before) };
  };

  const send = async (from: WsClient, content: string) => {
    const ack = await from.request('sendMessage', { conversation_id: conv, content });
    expect(ack.event).toBe('ack');
    acked.push(ack.data.id as number);
    return ack.data.id as number;
  };

  /** A message each way, then typing on and off each way, every one seen on the other process. */
  const converse = async (tag: string) => {
    for (const [from, to, user] of [
      [a, b, alice],
      [b, a, bob],
    ] as const) {
      const id = await send(from, `${tag}, ${user.username} here`);
      await to.event('receiveMessage', (d) => d.id === id);
      for (const isTyping of [true, false]) {
        const typing = next(to, 'typing');
        expect((await from.request('typing', { conversation_id: conv, is_typing: isTyping })).event).toBe('ack');
        expect((await typing).data).toEqual({ conversation_id: conv, user_id: user.id, is_typing: isTyping });
      }
    }
  };

  beforeAll(async () => {
    cluster = await startNatsCluster(3);
    const env = { ...PROCESS_TEST_ENV, DATABASE_URL: await freshDatabase('nats_cluster'), FANOUT: 'nats' };
    const urls = (order: number[]) => order.map((n) => cluster.nodes[n]!.url).join(',');
    const first = await start({ ...env, NATS_URL: urls([0, 1, 2]) });
    ({ p: p1, http: http1, node: node1 } = first);
    // The client shuffles the listed servers, so the order does not decide the node: /connz tells. A second
    // process that lands on the first one's node is replaced until one is attached elsewhere.
    for (let attempt = 1; ; attempt++) {
      const second = await start({ ...env, NATS_URL: urls([2, 1, 0]) });
      if (second.node !== node1) {
        ({ p: p2, http: http2, node: node2 } = second);
        break;
      }
      second.p.child.kill('SIGKILL');
      await second.p.exited;
      if (attempt === 8) throw new Error(`eight processes in a row attached to node ${node1}`);
    }
    spare = [0, 1, 2].find((n) => n !== node1 && n !== node2)!;
    [alice, bob] = [await http1.register(), await http2.register()];
    conv = (await http1.post('/conversations', { participant_ids: [bob.id] }, alice.token)).body.id as number;
    a = await WsClient.connect(`ws://127.0.0.1:${p1.port}/ws`, alice.token);
    b = await WsClient.connect(`ws://127.0.0.1:${p2.port}/ws`, bob.token);
  }, 60_000);

  afterAll(async () => {
    for (const c of [a, b]) c?.socket.terminate();
    killAll();
    await stopBrokerServers();
  });

  it('carries messages both ways and typing between a client on each process, across nodes', async () => {
    expect(new Set([node1, node2, spare]).size).toBe(3);
    await converse('hello');
  });

  it('carries on, with no outage on either process, when the node attached to neither is SIGKILLed', async () => {
    const before = await Promise.all([fanout(http1), fanout(http2)]);
    await cluster.nodes[spare]!.kill();
    await converse('after the spare node died');
    const after = await Promise.all([fanout(http1), fanout(http2)]);
    expect(after.map((f) => [f.outages, live(f)])).toEqual(before.map((f) => [f.outages, true]));
  });

  it('moves process 1 to the node left when its node is SIGKILLed mid-conversation, and delivers every message acknowledged meanwhile once, in order', async () => {
    const [before1, before2] = [await fanout(http1), await fanout(http2)];
    const sentBy = { a: 0, b: 0 };
    let sending = true;
    const stream = async (from: WsClient, who: 'a' | 'b') => {
      for (let i = 0; sending; i++) {
        await send(from, `${who} ${i}`);
        sentBy[who] += 1;
        await sleep(5);
      }
    };
    const streams = [stream(a, 'a'), stream(b, 'b')];
    let connectedBefore: Set<string>;
    try {
      await eventually(() => sentBy.a >= 20 && sentBy.b >= 20);
      connectedBefore = await connections(cluster);
      // The node left is paused as process 1's dies, so process 1 stays away long enough for both sides to be
      // acknowledged meanwhile: what process 2 sends is routed before process 1 is back (replayed on its return),
      // what process 1 sends waits in its client or is lost (then process 2 reads it from the database).
      await cluster.nodes[node2]!.pause();
      await cluster.nodes[node1]!.kill();
      await until(http1, (f) => f.state === 'down');
      const whileAway = { ...sentBy };
      await eventually(() => sentBy.a >= whileAway.a + 10 && sentBy.b >= whileAway.b + 10);
      await cluster.nodes[node2]!.resume();
      await until(http1, (f) => f.outages === before1.outages + 1 && live(f), 20_000);
      const back = { ...sentBy };
      await eventually(() => sentBy.a >= back.a + 20 && sentBy.b >= back.b + 20);
    } finally {
      sending = false;
      await cluster.nodes[node2]!.resume();
      await Promise.all(streams);
    }
    // Process 1 is on the one node left, where process 2 has been all along, without an outage.
    expect(await attachedSince(cluster, connectedBefore)).toBe(node2);
    expect(await fanout(http2)).toMatchObject({ outages: before2.outages, state: 'live' });
    // A last message from each side once the streams are over: when both have arrived, so has anything that could be doubled.
    const last = [await send(a, 'last from a'), await send(b, 'last from b')];
    for (const c of [a, b]) for (const id of last) await c.event('receiveMessage', (d) => d.id === id, 15_000);
    const expected = [...acked].sort((x, y) => x - y);
    expect(receivedIds(a.frames, conv)).toEqual(expected);
    expect(receivedIds(b.frames, conv)).toEqual(expected);
    // The outage cost process 1 notifications: it replayed them from the database on its return.
    expect(p1.output()).toMatch(/"replayed":[1-9][0-9]*,"msg":"fan-out broker back; missed messages replayed"/);
  }, 40_000);
});
