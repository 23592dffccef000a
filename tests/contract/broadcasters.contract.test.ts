import type pg from 'pg';
import type { Sequelize } from 'sequelize';
import { afterAll } from 'vitest';
import type { Broker } from '../../src/adapters/fanout/engine/broker.js';
import { FanoutEngine } from '../../src/adapters/fanout/engine/fanout-engine.js';
import { encodeMessageChunks } from '../../src/adapters/fanout/engine/notification-codec.js';
import { LocalBroker } from '../../src/adapters/fanout/local/local-broker.js';
import { PgBroker } from '../../src/adapters/fanout/postgres/pg-broker.js';
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
import { migratedDatabase } from '../support/database.js';
import { RecordingDelivery } from '../support/recording-delivery.js';
import { silentLogger } from '../support/silent-logger.js';
import { broadcasterContract, observing, type FanoutFixture, type FanoutProcess } from './broadcaster-contract.js';

const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

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
  const engine = new FanoutEngine({
    broker: new LocalBroker(),
    nodeId: 'local',
    lanes: 1,
    delivery,
    observers: [observing(observed)],
    messages,
    conversations: new InMemoryConversationRepository(store),
    lanePositions: async () => [0],
    logger: silentLogger,
  });
  await engine.start();
  cleanups.push(() => engine.close());
  let next = 0;
  return {
    processes: [{ broadcaster: engine, appender: new AnnouncingAppender(messages, engine), delivery, observed, follow: follower(engine, delivery) }],
    conversation: async () => ({ id: ++next, userIds: [1, 2] }),
  };
});

/**
 * Two processes on one fresh database, each with its own pool, broker
 * connection and connections, writing through the real write path.
 */
export async function enginesOnDatabase(name: string, broker: (node: string, url: string, pool: pg.Pool) => Broker): Promise<FanoutFixture> {
  const { url, sequelize } = await migratedDatabase(name);
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
    const engine = new FanoutEngine({
      broker: broker(node, url, pool),
      nodeId: node,
      lanes,
      delivery,
      observers: [observing(observed)],
      messages,
      conversations,
      lanePositions: () => laneCursors(pool),
      gapWaitMs: 200,
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
    processes.push({ broadcaster: engine, appender: writer, delivery, observed, follow: follower(engine, delivery) });
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
