import type pg from 'pg';
import type { Sequelize } from 'sequelize';
import { afterAll, beforeAll } from 'vitest';
import type { Broker, BrokerInbound, BrokerState } from '../../src/adapters/fanout/engine/broker.js';
import { FanoutEngine } from '../../src/adapters/fanout/engine/fanout-engine.js';
import { encodeMessageChunks } from '../../src/adapters/fanout/engine/notification-codec.js';
import { LocalBroker } from '../../src/adapters/fanout/local/local-broker.js';
import { NatsBroker } from '../../src/adapters/fanout/nats/nats-broker.js';
import { PgBroker } from '../../src/adapters/fanout/postgres/pg-broker.js';
import { RedisBroker } from '../../src/adapters/fanout/redis/redis-broker.js';
import { AnnouncingAppender } from '../../src/adapters/memory/announcing-appender.js';
import { InMemoryConversationRepository } from '../../src/adapters/memory/in-memory-conversation-repository.js';
import { InMemoryMessageRepository } from '../../src/adapters/memory/in-memory-message-repository.js';
import { InMemoryStore } from '../../src/adapters/memory/in-memory-store.js';
import { createPgPool } from '../../src/adapters/postgres/pool.js';
import { SequelizeConversationRepository } from '../../src/adapters/postgres/repositories/sequelize-conversation-repository.js';
import { SequelizeMessageRepository } from '../../src/adapters/postgres/repositories/sequelize-message-repository.js';
import { SequelizeUserRepository } from '../../src/adapters/postgres/repositories/sequelize-user-repository.js';
import { MessageWriter } from '../../src/adapters/postgres/write-path/message-writer.js';
import { ensureLanes, laneCursors } from '../../src/adapters/postgres/write-path/write-lanes.js';
import type { MembershipChange } from '../../src/application/ports/fanout.js';
import { startNats, startRedis, stopBrokerServers, type BrokerServer } from '../support/brokers.js';
import { migratedDatabase } from '../support/database.js';
import { RecordingDelivery } from '../support/recording-delivery.js';
import { silentLogger } from '../support/silent-logger.js';
import { broadcasterContract, observing, type FanoutFixture, type FanoutProcess } from './broadcaster-contract.js';

const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

let nats: BrokerServer;
let redis: BrokerServer;
beforeAll(async () => {
  // First in the list, so stopped after every engine that uses them.
  cleanups.push(stopBrokerServers);
  [nats, redis] = await Promise.all([startNats(), startRedis()]);
});

/** A broker that loses the next message batch published once told to: the publish a process loses between commit and broker. */
class LosingBroker implements Broker {
  private armed = false;
  lost = 0;

  constructor(private readonly inner: Broker) {}

  get name(): string {
    return this.inner.name;
  }
  get routing(): Broker['routing'] {
    return this.inner.routing;
  }
  get announcedByWrites(): boolean {
    return this.inner.announcedByWrites;
  }
  get state(): BrokerState {
    return this.inner.state;
  }
  loseNextMessagePublish(): void {
    this.armed = true;
  }
  start(inbound: BrokerInbound): Promise<void> {
    return this.inner.start(inbound);
  }
  async publish(topic: string, payload: string): Promise<void> {
    if (this.armed && payload.startsWith('{"t":"m"')) {
      this.armed = false;
      this.lost += 1;
      return;
    }
    return this.inner.publish(topic, payload);
  }
  subscribe(topics: readonly string[]): Promise<void> {
    return this.inner.subscribe(topics);
  }
  unsubscribe(topics: readonly string[]): Promise<void> {
    return this.inner.unsubscribe(topics);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

/** A process's follow, as its connections would make it: the engine subscribes, the delivery lists it. */
const follower =
  (engine: FanoutEngine, delivery: RecordingDelivery) =>
  async (conversationIds: readonly number[], userIds: readonly number[] = []) => {
    for (const id of conversationIds) {
      delivery.followed.push(id);
      engine.conversationFollowed(id);
    }
    for (const id of userIds) {
      delivery.users.push(id);
      engine.userArrived(id);
    }
    await engine.subscriptionsSettled();
  };

broadcasterContract('local', async () => {
  const store = new InMemoryStore();
  const messages = new InMemoryMessageRepository(store);
  const delivery = new RecordingDelivery();
  const observed: MembershipChange[] = [];
  const forgotten: number[] = [];
  const engine = new FanoutEngine({
    broker: new LocalBroker(),
    nodeId: 'local',
    lanes: 1,
    delivery,
    observers: [observing(observed, forgotten)],
    messages,
    conversations: new InMemoryConversationRepository(store),
    lanePositions: async () => [0],
    logger: silentLogger,
  });
  await engine.start();
  cleanups.push(() => engine.close());
  let next = 0;
  return {
    processes: [{ broadcaster: engine, appender: new AnnouncingAppender(messages, engine), delivery, observed, forgotten, follow: follower(engine, delivery) }],
    conversation: async () => ({ id: ++next, userIds: [1, 2] }),
  };
});

export interface EnginesOptions {
  /** The broker's own server, killed and restarted by the tests of outages. */
  readonly server?: BrokerServer;
  /** @default 200 */
  readonly gapWaitMs?: number;
  /** @default 200 */
  readonly checkMs?: number;
}

/**
 * Two processes on one fresh database, each with its own pool, broker
 * connection and connections, writing through the real write path.
 */
export async function enginesOnDatabase(
  name: string,
  broker: (node: string, url: string, pool: pg.Pool) => Broker,
  options: EnginesOptions = {},
): Promise<FanoutFixture> {
  const { gapWaitMs = 200, checkMs = 200, server } = options;
  const { url, sequelize } = await migratedDatabase(name);
  const losing: LosingBroker[] = [];
  const lanes = 3;
  const processes: FanoutProcess[] = [];
  const pools: pg.Pool[] = [];
  const engines: FanoutEngine[] = [];
  const messages = new SequelizeMessageRepository(sequelize);
  const conversations = new SequelizeConversationRepository(sequelize);
  for (const node of ['one', 'two']) {
    const pool = createPgPool({ url, applicationName: `contract-${node}` });
    pools.push(pool);
    await ensureLanes(pool, lanes, async () => 0);
    const delivery = new RecordingDelivery();
    const observed: MembershipChange[] = [];
    const forgotten: number[] = [];
    const wrapped = new LosingBroker(broker(node, url, pool));
    losing.push(wrapped);
    const engine = new FanoutEngine({
      broker: wrapped,
      nodeId: node,
      lanes,
      delivery,
      observers: [observing(observed, forgotten)],
      messages,
      conversations,
      lanePositions: () => laneCursors(pool),
      gapWaitMs,
      checkMs,
      logger: silentLogger,
    });
    await engine.start();
    engines.push(engine);
    const writer = new MessageWriter(pool, {
      lanes,
      announce: engine.broker.announcedByWrites ? { channel: 'contract_fanout', encode: (lane, drafts) => encodeMessageChunks(node, lane, drafts) } : null,
      sequence: engine.sequence,
      onCommitted: (batch) => engine.committed(batch),
      logger: silentLogger,
    });
    processes.push({ broadcaster: engine, appender: writer, delivery, observed, forgotten, follow: follower(engine, delivery) });
  }
  await Promise.all(engines.map((e) => waitLive(e)));
  cleanups.push(async () => {
    for (const e of engines) await e.close();
    for (const p of pools) await p.end();
    await (sequelize as Sequelize).close();
  });
  const users = new SequelizeUserRepository(sequelize);
  let n = 0;
  return {
    processes,
    faults: {
      loseNextMessagePublish: (index) => losing[index]!.loseNextMessagePublish(),
      get lostPublishes() {
        return losing.reduce((n, b) => n + b.lost, 0);
      },
      gapWaitMs,
      checkMs,
      killBroker: async () => {
        if (!server) throw new Error(`${name}: no broker server to kill`);
        await server.kill();
      },
      restartBroker: async () => {
        if (!server) throw new Error(`${name}: no broker server to restart`);
        await server.restart();
      },
      states: () => engines.map((e) => e.state),
    },
    conversation: async (members = 2) => {
      const userIds: number[] = [];
      for (let i = 0; i < members; i++) {
        const k = `${Date.now()}_${++n}`;
        const created = await users.create(
          { email: `f${k}@x.io`, username: `f${k}`, passwordHash: 'h', phoneNumber: null, profilePicture: null, role: 'tenant' },
          new Date(),
        );
        if (!created.ok) throw new Error(created.error.code);
        userIds.push(created.value.id);
      }
      const group = await conversations.createGroup({ title: 'contract', isOpen: false, createdBy: userIds[0]!, participantIds: userIds }, new Date());
      return { id: group.id, userIds };
    },
  };
}

export async function waitLive(engine: FanoutEngine): Promise<void> {
  for (let i = 0; i < 500 && !engine.live; i++) await new Promise((r) => setTimeout(r, 10));
  if (!engine.live) throw new Error(`fan-out not live: ${JSON.stringify(engine.state)}`);
  await engine.subscriptionsSettled();
}

broadcasterContract('PostgreSQL LISTEN/NOTIFY', () =>
  enginesOnDatabase('fanout', (node, url, pool) => new PgBroker(pool, { url, channel: 'contract_fanout', nodeId: node, logger: silentLogger })),
);

/** Each fixture has a prefix of its own: conversation ids repeat across the fixtures' databases, the servers are shared. */
let fixtures = 0;

broadcasterContract(
  'NATS',
  () => {
    const prefix = `contract${++fixtures}`;
    return enginesOnDatabase(
      'fanout_nats',
      (node) => new NatsBroker({ url: nats.url, prefix, name: `contract-${node}`, logger: silentLogger, reconnectWaitMs: 100, reconnectJitterMs: 100 }),
      { server: nats },
    );
  },
  { publishesAfterCommit: true, brokerServer: true },
);

broadcasterContract(
  'Redis',
  () => {
    const prefix = `contract${++fixtures}`;
    return enginesOnDatabase(
      'fanout_redis',
      (node) => new RedisBroker({ url: redis.url, prefix, name: `contract-${node}`, logger: silentLogger, retryMs: 50, maxRetryMs: 500 }),
      { server: redis },
    );
  },
  { publishesAfterCommit: true, brokerServer: true },
);
