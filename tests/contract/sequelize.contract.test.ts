import { afterAll, beforeAll } from 'vitest';
import type { Sequelize } from 'sequelize';
import { CachingConversationRepository } from '../../src/adapters/cache/caching-conversation-repository.js';
import { SequelizeConversationRepository } from '../../src/adapters/sequelize/sequelize-conversation-repository.js';
import { SequelizeMessageRepository } from '../../src/adapters/sequelize/sequelize-message-repository.js';
import { SequelizeUserRepository } from '../../src/adapters/sequelize/sequelize-user-repository.js';
import { migratedDatabase } from '../support/database.js';
import { silentLogger } from '../support/silent-logger.js';
import { repositoryContract } from './repository-contract.js';

let sequelize: Sequelize;
beforeAll(async () => {
  ({ sequelize } = await migratedDatabase('contract'));
});
afterAll(() => sequelize?.close());

const onPostgres = (conversations: (s: Sequelize) => SequelizeConversationRepository | CachingConversationRepository) => async () => ({
  users: new SequelizeUserRepository(sequelize),
  conversations: conversations(sequelize),
  messages: new SequelizeMessageRepository(sequelize, silentLogger),
});

// Each test creates its own users and rows, so one database serves both runs.
repositoryContract('sequelize on PostgreSQL', onPostgres((s) => new SequelizeConversationRepository(s)));
// The membership cache must answer exactly as the repository it wraps.
repositoryContract('membership cache over PostgreSQL', onPostgres((s) => new CachingConversationRepository(new SequelizeConversationRepository(s))));
