import { afterAll, beforeAll } from 'vitest';
import type pg from 'pg';
import type { Sequelize } from 'sequelize';
import { CachingConversationRepository } from '../../src/adapters/cache/caching-conversation-repository.js';
import { MessageWriter } from '../../src/adapters/postgres/write-path/message-writer.js';
import { ensureLanes } from '../../src/adapters/postgres/write-path/write-lanes.js';
import { SequelizeConversationRepository } from '../../src/adapters/postgres/repositories/sequelize-conversation-repository.js';
import { PgEventStream } from '../../src/adapters/postgres/repositories/pg-event-stream.js';
import { SequelizeMessageRepository } from '../../src/adapters/postgres/repositories/sequelize-message-repository.js';
import { SequelizeUserRepository } from '../../src/adapters/postgres/repositories/sequelize-user-repository.js';
import { SequelizeSessionRepository } from '../../src/adapters/postgres/repositories/sequelize-session-repository.js';
import { PgProfileRepository } from '../../src/adapters/postgres/repositories/pg-profile-repository.js';
import { CachingProfileRepository } from '../../src/adapters/cache/caching-profile-repository.js';
import { createPgPool } from '../../src/adapters/postgres/pool.js';
import { migratedDatabase } from '../support/database.js';
import { silentLogger } from '../support/silent-logger.js';
import { repositoryContract } from './repository-contract.js';

let sequelize: Sequelize;
let pool: pg.Pool;
let store: MessageWriter;
beforeAll(async () => {
  const db = await migratedDatabase('contract');
  sequelize = db.sequelize;
  pool = createPgPool({ url: db.url, applicationName: 'contract' });
  const lanes = await ensureLanes(pool, 3, async () => 0);
  store = new MessageWriter(pool, { lanes, announce: null, logger: silentLogger });
});
afterAll(async () => {
  await pool?.end();
  await sequelize?.close();
});

const onPostgres = (cached: boolean) => async () => {
  const base = {
    users: new SequelizeUserRepository(sequelize),
    messages: new SequelizeMessageRepository(sequelize),
    store,
    sessions: new SequelizeSessionRepository(sequelize),
    events: new PgEventStream(sequelize),
  };
  if (!cached) return { ...base, conversations: new SequelizeConversationRepository(sequelize), profiles: new PgProfileRepository(pool) };
  const conversations = new CachingConversationRepository(new SequelizeConversationRepository(sequelize));
  const profiles = new CachingProfileRepository(new PgProfileRepository(pool));
  return { ...base, conversations, profiles, observers: [conversations, profiles] };
};

// Each test creates its own users and rows, so one database serves both runs.
repositoryContract('sequelize on PostgreSQL', onPostgres(false));
// The caches must answer exactly as the repositories they wrap (they are kept in step by fan-out, absent here).
repositoryContract('caches over PostgreSQL', onPostgres(true));
