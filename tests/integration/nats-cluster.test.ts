import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { NatsBroker, type NatsBrokerOptions } from '../../src/adapters/fanout/nats/nats-broker.js';
import { RecordingInbound, startNatsCluster, stopBrokerServers } from '../support/brokers.js';
import { eventually } from '../support/eventually.js';
import { silentLogger } from '../support/silent-logger.js';

const brokers: NatsBroker[] = [];
afterEach(async () => {
  await Promise.all(brokers.splice(0).map((b) => b.close()));
});
afterAll(stopBrokerServers);

async function upOn(url: string, options: Partial<NatsBrokerOptions> = {}) {
  const broker = new NatsBroker({ url, prefix: 'chat', logger: silentLogger, reconnectWaitMs: 100, reconnectJitterMs: 100, ...options });
  const inbound = new RecordingInbound();
  brokers.push(broker);
  await broker.start(inbound);
  await eventually(() => broker.state.state === 'up');
  return { broker, inbound };
}

/**
 * A subscription is confirmed by the node the subscriber is on; other nodes
 * learn it over the routes a moment later. So a probe is published until it
 * arrives, and only then is the payload under test sent.
 */
async function routed(from: NatsBroker, to: RecordingInbound, topic: string): Promise<void> {
  const before = to.payloads(topic).length;
  await eventually(() => {
    void from.publish(topic, 'probe');
    return to.payloads(topic).length > before;
  });
}

describe('NATS broker on a three-node cluster', () => {
  it('carries publishes from node C to a subscriber on node A, also after node B is SIGKILLed', async () => {
    const cluster = await startNatsCluster(3);
    const [a, b, c] = cluster.nodes;
    const sub = await upOn(a!.url);
    const pub = await upOn(c!.url);
    await sub.broker.subscribe(['c.1']);
    await routed(pub.broker, sub.inbound, 'c.1');
    await pub.broker.publish('c.1', 'before');
    await b!.kill();
    await pub.broker.publish('c.1', 'after');
    await eventually(() => sub.inbound.payloads('c.1').includes('after'));
    expect(sub.inbound.payloads('c.1').filter((p) => p !== 'probe')).toEqual(['before', 'after']);
    expect(sub.inbound.events).toEqual(['up']);
  });

  it('moves a broker attached to a killed node to another node of its URL list, reports down then up, and delivers both ways again', async () => {
    const cluster = await startNatsCluster(3);
    const [a, b, c] = cluster.nodes;
    // B first and no shuffling, so the broker is on the node about to die.
    const moving = await upOn([b!.url, a!.url, c!.url].join(','), { noRandomize: true });
    const onA = await upOn(a!.url);
    const onC = await upOn(c!.url);
    await moving.broker.subscribe(['c.1']);
    await onA.broker.subscribe(['c.2']);
    await routed(onC.broker, moving.inbound, 'c.1');
    await b!.kill();
    await eventually(() => moving.inbound.events.length === 3);
    expect(moving.inbound.events).toEqual(['up', 'down', 'up']);
    expect(moving.broker.state).toMatchObject({ state: 'up', outages: 1 });
    await routed(onC.broker, moving.inbound, 'c.1');
    await onC.broker.publish('c.1', 'to the moved broker');
    await moving.broker.publish('c.2', 'from the moved broker');
    await eventually(() => moving.inbound.payloads('c.1').includes('to the moved broker') && onA.inbound.payloads('c.2').length > 0);
    expect(onA.inbound.payloads('c.2')).toEqual(['from the moved broker']);
  });
});
