import { afterAll, beforeAll } from 'vitest';
import type { Sequelize } from 'sequelize';
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

// Each test gets its own rows: the contract creates fresh users, so one database is enough.
repositoryContract('sequelize on PostgreSQL', async () => ({
  users: new SequelizeUserRepository(sequelize),
  conversations: new SequelizeConversationRepository(sequelize),
  messages: new SequelizeMessageRepository(sequelize, silentLogger),
}));
