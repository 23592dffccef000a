import type pg from 'pg';
import type { Sequelize } from 'sequelize';
import { afterAll } from 'vitest';
import { LocalBroadcaster } from '../../src/adapters/fanout/local/local-broadcaster.js';
import { LocalMessageAppender } from '../../src/adapters/fanout/local/local-message-appender.js';
import { InMemoryMessageRepository } from '../../src/adapters/memory/in-memory-message-repository.js';
import { InMemoryStore } from '../../src/adapters/memory/in-memory-store.js';
import { encodeMessageChunks } from '../../src/adapters/fanout/engine/notification-codec.js';
import { MessageWriter } from '../../src/adapters/postgres/write-path/message-writer.js';
import { PgBroadcaster } from '../../src/adapters/fanout/postgres/pg-broadcaster.js';
import { PgListener } from '../../src/adapters/fanout/postgres/pg-listener.js';
import { ensureLanes } from '../../src/adapters/postgres/write-path/write-lanes.js';
import { SequelizeConversationRepository } from '../../src/adapters/postgres/repositories/sequelize-conversation-repository.js';
import { SequelizeMessageRepository } from '../../src/adapters/postgres/repositories/sequelize-message-repository.js';
import { SequelizeUserRepository } from '../../src/adapters/postgres/repositories/sequelize-user-repository.js';
import { createPgPool } from '../../src/adapters/postgres/pool.js';
import type { MembershipChange } from '../../src/application/ports/fanout.js';
import { migratedDatabase } from '../support/database.js';
import { RecordingDelivery } from '../support/recording-delivery.js';
import { silentLogger } from '../support/silent-logger.js';
import { broadcasterContract, observing, type FanoutFixture, type FanoutProcess } from './broadcaster-contract.js';

broadcasterContract('local', async () => {
  const store = new InMemoryMessageRepository(new InMemoryStore());
  const delivery = new RecordingDelivery();
  const observed: MembershipChange[] = [];
  const broadcaster = new LocalBroadcaster(delivery, [observing(observed)]);
  let next = 0;
  return {
    processes: [{ broadcaster, appender: new LocalMessageAppender(store, broadcaster), delivery, observed }],
    conversation: async () => ({ id: ++next, userIds: [1, 2] }),
  };
});

const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** Two processes on one fresh database, each with its own pool, LISTEN connection and connections. */
broadcasterContract('PostgreSQL LISTEN/NOTIFY', async (): Promise<FanoutFixture> => {
  const { url, sequelize } = await migratedDatabase('fanout');
  const lanes = 3;
  const channel = 'contract_fanout';
  const processes: FanoutProcess[] = [];
  const pools: pg.Pool[] = [];
  const listeners: PgListener[] = [];
  for (const node of ['one', 'two']) {
    const pool = createPgPool({ url, applicationName: `contract-${node}` });
    pools.push(pool);
    await ensureLanes(pool, lanes, async () => 0);
    const delivery = new RecordingDelivery();
    const observed: MembershipChange[] = [];
    const listener = new PgListener(pool, {
      url,
      channel,
      nodeId: node,
      lanes,
      delivery,
      observers: [observing(observed)],
      messages: new SequelizeMessageRepository(sequelize),
      conversations: new SequelizeConversationRepository(sequelize),
      logger: silentLogger,
    });
    await listener.start();
    listeners.push(listener);
    processes.push({
      broadcaster: new PgBroadcaster(pool, { channel, nodeId: node, logger: silentLogger }),
      appender: new MessageWriter(pool, {
        lanes,
        announce: { channel, encode: (lane, drafts) => encodeMessageChunks(node, lane, drafts) },
        logger: silentLogger,
      }),
      delivery,
      observed,
    });
  }
  cleanups.push(async () => {
    for (const l of listeners) await l.close();
    for (const p of pools) await p.end();
    await (sequelize as Sequelize).close();
  });
  const users = new SequelizeUserRepository(sequelize);
  const conversations = new SequelizeConversationRepository(sequelize);
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
});
