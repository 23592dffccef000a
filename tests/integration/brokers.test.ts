import { connect as natsConnect } from '@nats-io/transport-node';
import { createClient } from 'redis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { Broker } from '../../src/adapters/fanout/engine/broker.js';
import type { Logger } from '../../src/application/ports/services.js';
import { NatsBroker } from '../../src/adapters/fanout/nats/nats-broker.js';
import { RedisBroker } from '../../src/adapters/fanout/redis/redis-broker.js';
import { RecordingInbound, recordingLogger, startNats, startRedis, stopBrokerServers, type BrokerServer } from '../support/brokers.js';
import { eventually } from '../support/eventually.js';
import { freePort } from '../support/server-process.js';
import { silentLogger } from '../support/silent-logger.js';

/** What differs between the two brokers; every test below runs against both. */
interface Kind {
  readonly name: 'nats' | 'redis';
  start(options?: { user?: string; password?: string; port?: number }): Promise<BrokerServer>;
  broker(url: string, logger?: Logger): Broker;
  /** The wire name of a topic under the prefix `chat`. */
  wireName(topic: string): string;
  /** A plain client, bypassing the adapter: `publish` sends at once, in call order; `close` waits for what was sent. */
  rawClient(url: string): Promise<{ publish(name: string, bytes: Uint8Array): void; close(): Promise<void> }>;
}

const kinds: Kind[] = [
  {
    name: 'nats',
    start: startNats,
    broker: (url, logger = silentLogger) => new NatsBroker({ url, prefix: 'chat', logger, reconnectWaitMs: 100, reconnectJitterMs: 100 }),
    wireName: (topic) => `chat.${topic}`,
    rawClient: async (url) => {
      const nc = await natsConnect({ servers: url.replace('nats://', '') });
      return { publish: (subject, bytes) => nc.publish(subject, bytes), close: async () => (await nc.flush(), await nc.close()) };
    },
  },
  {
    name: 'redis',
    start: startRedis,
    broker: (url, logger = silentLogger) => new RedisBroker({ url, prefix: 'chat', logger, retryMs: 50, maxRetryMs: 300 }),
    wireName: (topic) => `chat:${topic.replaceAll('.', ':')}`,
    rawClient: async (url) => {
      const client = createClient({ url });
      await client.connect();
      return { publish: (channel, bytes) => void client.sPublish(channel, Buffer.from(bytes)), close: () => client.close() };
    },
  },
];

const brokers: Broker[] = [];
afterEach(async () => {
  await Promise.all(brokers.splice(0).map((b) => b.close()));
});
afterAll(stopBrokerServers);

async function started(kind: Kind, url: string, logger?: Logger): Promise<{ broker: Broker; inbound: RecordingInbound }> {
  const broker = kind.broker(url, logger);
  const inbound = new RecordingInbound();
  brokers.push(broker);
  await broker.start(inbound);
  return { broker, inbound };
}

async function up(kind: Kind, url: string, logger?: Logger) {
  const b = await started(kind, url, logger);
  await eventually(() => b.broker.state.state === 'up');
  return b;
}

const bytes = (text: string) => new TextEncoder().encode(text);

describe.each(kinds)('$name broker', (kind) => {
  it('delivers 5,000 payloads per topic in publish order, to other processes and back to the publisher', async () => {
    const server = await kind.start();
    const sub = await up(kind, server.url);
    const pub = await up(kind, server.url);
    await sub.broker.subscribe(['c.1', 'c.2']);
    await pub.broker.subscribe(['c.1']);
    const sent = Array.from({ length: 5000 }, (_, i) => JSON.stringify({ n: i, text: `é ${i}` }));
    for (const payload of sent) {
      void pub.broker.publish('c.1', payload);
      void pub.broker.publish('c.2', payload);
    }
    await eventually(() => sub.inbound.messages.length === 10_000 && pub.inbound.messages.length === 5000);
    expect(sub.inbound.payloads('c.1')).toEqual(sent);
    expect(sub.inbound.payloads('c.2')).toEqual(sent);
    expect(pub.inbound.payloads('c.1')).toEqual(sent);
  });

  it('delivers only the subscribed topics: c.2 published before a c.1 marker never reaches the c.1 subscriber', async () => {
    const server = await kind.start();
    const sub = await up(kind, server.url);
    const pub = await up(kind, server.url);
    await sub.broker.subscribe(['c.1']);
    await pub.broker.publish('c.2', 'not yours');
    await pub.broker.publish('u.1', 'not yours either');
    await pub.broker.publish('c.1', 'marker');
    await eventually(() => sub.inbound.messages.length > 0);
    expect(sub.inbound.messages).toEqual([{ topic: 'c.1', payload: 'marker' }]);
  });

  it('resolves subscribe only once the server has answered: not while the server is stopped (SIGSTOP), and a publish right after it arrives', async () => {
    const server = await kind.start();
    const sub = await up(kind, server.url);
    const pub = await up(kind, server.url);
    await server.pause();
    let resolved = false;
    const subscribed = sub.broker.subscribe(['c.1']).then(() => void (resolved = true));
    // Time for a subscribe that does not wait for the server to resolve (it would within microseconds).
    await new Promise((r) => setTimeout(r, 300));
    expect(resolved).toBe(false);
    await server.resume();
    await subscribed;
    await pub.broker.publish('c.1', 'right after');
    await eventually(() => sub.inbound.messages.length === 1);
    expect(sub.inbound.messages).toEqual([{ topic: 'c.1', payload: 'right after' }]);
  });

  it('follows 10,000 topics at once, and a second subscription to a topic adds no second delivery', async () => {
    const server = await kind.start();
    const sub = await up(kind, server.url);
    const pub = await up(kind, server.url);
    const topics = Array.from({ length: 10_000 }, (_, i) => `c.${i + 1000}`);
    await sub.broker.subscribe(topics);
    await pub.broker.publish('c.10999', 'last');
    await pub.broker.publish('c.1000', 'first');
    await eventually(() => sub.inbound.messages.length === 2);
    expect(sub.inbound.messages).toEqual([
      { topic: 'c.10999', payload: 'last' },
      { topic: 'c.1000', payload: 'first' },
    ]);
    await sub.broker.subscribe(['c.1000']);
    await pub.broker.publish('c.1000', 'again');
    await pub.broker.publish('c.10999', 'marker');
    await eventually(() => sub.inbound.payloads('c.10999').length === 2);
    expect(sub.inbound.payloads('c.1000')).toEqual(['first', 'again']);
  });

  it('stops delivery on unsubscribe: c.2 published after it is not delivered before a later c.1 marker', async () => {
    const server = await kind.start();
    const sub = await up(kind, server.url);
    const pub = await up(kind, server.url);
    await sub.broker.subscribe(['c.1', 'c.2']);
    await pub.broker.publish('c.2', 'before');
    await eventually(() => sub.inbound.messages.length === 1);
    await sub.broker.unsubscribe(['c.2']);
    await pub.broker.publish('c.2', 'after');
    await pub.broker.publish('c.1', 'marker');
    await eventually(() => sub.inbound.payloads('c.1').length === 1);
    expect(sub.inbound.messages).toEqual([
      { topic: 'c.2', payload: 'before' },
      { topic: 'c.1', payload: 'marker' },
    ]);
  });

  it('reports down when the server is SIGKILLed and up after it restarts, with subscriptions (old and made meanwhile) working again', async () => {
    const server = await kind.start();
    const sub = await up(kind, server.url);
    const pub = await up(kind, server.url);
    await sub.broker.subscribe(['c.1']);
    await server.kill();
    await eventually(() => sub.inbound.events.includes('down') && pub.inbound.events.includes('down'));
    expect(sub.broker.state).toMatchObject({ state: 'down', outages: 1 });
    await pub.broker.publish('c.1', 'lost while down'); // must not throw or hang
    await eventually(() => (pub.broker as NatsBroker | RedisBroker).publishFailures === 1); // counted (Redis: once its client refused it)
    await sub.broker.subscribe(['c.9']); // made while down: in place by `up`
    await server.restart();
    await eventually(() => sub.broker.state.state === 'up' && pub.broker.state.state === 'up');
    expect(sub.inbound.events).toEqual(['up', 'down', 'up']);
    await pub.broker.publish('c.1', 'after up');
    await pub.broker.publish('c.9', 'new topic');
    await eventually(() => sub.inbound.messages.length === 2);
    await sub.broker.publish('c.1', 'own');
    await eventually(() => sub.inbound.messages.length === 3);
    expect(sub.inbound.messages).toEqual([
      { topic: 'c.1', payload: 'after up' },
      { topic: 'c.9', payload: 'new topic' },
      { topic: 'c.1', payload: 'own' },
    ]);
  });

  it('reports up after a restart only once its 10,000 subscriptions are back: a publish sent the instant up is reported arrives', async () => {
    const server = await kind.start();
    const sub = await up(kind, server.url);
    const topics = Array.from({ length: 10_000 }, (_, i) => `c.${i + 1000}`);
    await sub.broker.subscribe(topics);
    await server.kill();
    await eventually(() => sub.inbound.events.includes('down'));
    await server.restart();
    // Connected before the broker's first reconnect attempt (at least 100 ms away), so it is ready when `up` comes.
    const raw = await kind.rawClient(server.url);
    sub.inbound.onUp = () => raw.publish(kind.wireName('c.10999'), bytes('sent on up'));
    await eventually(() => sub.inbound.messages.length === 1);
    await raw.close();
    expect(sub.inbound.events).toEqual(['up', 'down', 'up']);
    expect(sub.inbound.messages).toEqual([{ topic: 'c.10999', payload: 'sent on up' }]);
  });

  it('starts at once with the server not running yet, and goes up with its subscriptions when the server starts', async () => {
    const port = await freePort();
    const url = kind.name === 'nats' ? `nats://127.0.0.1:${port}` : `redis://127.0.0.1:${port}/`;
    const t0 = Date.now();
    const sub = await started(kind, url);
    expect(Date.now() - t0).toBeLessThan(500);
    await sub.broker.subscribe(['c.1']);
    expect(sub.broker.state.state).toBe('connecting');
    const server = await kind.start({ port });
    await eventually(() => sub.broker.state.state === 'up');
    expect(sub.inbound.events).toEqual(['up']);
    const pub = await up(kind, server.url);
    await pub.broker.publish('c.1', 'hello');
    await eventually(() => sub.inbound.messages.length === 1);
    expect(sub.inbound.messages).toEqual([{ topic: 'c.1', payload: 'hello' }]);
  });

  it('closes promptly while the server was never reachable, and stays closed', async () => {
    const url = kind.name === 'nats' ? `nats://127.0.0.1:${await freePort()}` : `redis://127.0.0.1:${await freePort()}/`;
    const { broker } = await started(kind, url);
    await broker.subscribe(['c.1']);
    await broker.close();
    expect(broker.state.state).toBe('closed');
  });

  it('refuses to subscribe to anything but a topic (a wildcard would follow every conversation)', async () => {
    const server = await kind.start();
    const { broker } = await up(kind, server.url);
    await expect(broker.subscribe(['c.*'])).rejects.toThrow('not a topic');
    await expect(broker.subscribe(['c.1', 'chat.>'])).rejects.toThrow('not a topic');
  });

  it('rejects junk bytes and oversized payloads, ignores foreign names under the prefix, and keeps delivering', async () => {
    const server = await kind.start();
    const sub = await up(kind, server.url);
    await sub.broker.subscribe(['c.1', 'all']);
    const raw = await kind.rawClient(server.url);
    raw.publish(kind.wireName('c.1'), new Uint8Array([0xff, 0xfe, 0x7b]));
    raw.publish(kind.wireName('c.1'), new Uint8Array(1024 * 1024 + 1).fill(0x61));
    raw.publish(kind.wireName('c.0'), bytes('{}'));
    raw.publish(kind.wireName('x.1'), bytes('{}'));
    raw.publish(`${kind.wireName('c.1')}${kind.name === 'nats' ? '.' : ':'}extra`, bytes('{}'));
    raw.publish(kind.wireName('all'), bytes('{"ok":1}'));
    await raw.close();
    await eventually(() => sub.inbound.messages.length === 1);
    expect(sub.inbound.messages).toEqual([{ topic: 'all', payload: '{"ok":1}' }]);
    expect(sub.inbound.rejections).toEqual(['payload not UTF-8', 'payload too large']);
    await sub.broker.publish('c.1', 'still working');
    await eventually(() => sub.inbound.messages.length === 2);
    expect(sub.broker.state.state).toBe('up');
  });

  it('uses the credentials in the URL and never shows them in state or logs', async () => {
    const user = 'chatsvc';
    const password = 'Sup3r-s3cret-pw';
    const server = await kind.start({ user, password });
    expect(server.url).toContain(password);
    const lines: string[] = [];
    const sub = await up(kind, server.url, recordingLogger(lines));
    await sub.broker.subscribe(['c.1']);
    await server.kill();
    await eventually(() => sub.inbound.events.includes('down'));
    await sub.broker.publish('c.1', 'fails while down'); // logs a publish failure (NATS buffers it instead)
    await server.restart();
    await eventually(() => sub.broker.state.state === 'up');
    // The same server refuses a client without the password: the URL's credentials were what let the broker in.
    const anonymous = await started(kind, server.url.replace(`${user}:${password}@`, ''), recordingLogger(lines));
    await eventually(() => lines.some((l) => /auth|NOAUTH|WRONGPASS/i.test(l)));
    expect(anonymous.broker.state.state).toBe('connecting');
    const wrong = await started(kind, server.url.replace(password, 'Wr0ng-pass-here'), recordingLogger(lines));
    await eventually(() => lines.filter((l) => /auth|NOAUTH|WRONGPASS/i.test(l)).length >= 2);
    expect(wrong.broker.state.state).toBe('connecting');
    expect(sub.broker.state.url).toBe(server.url.replace(`${user}:${password}@`, '***:***@'));
    expect(lines.length).toBeGreaterThan(3);
    expect(lines.filter((l) => l.includes(password) || l.includes(user) || l.includes('Wr0ng-pass-here'))).toEqual([]);
  });
});
