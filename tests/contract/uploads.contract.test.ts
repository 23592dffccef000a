import { afterAll, beforeAll } from 'vitest';
import type pg from 'pg';
import type { Sequelize } from 'sequelize';
import { InMemoryUploadRepository } from '../../src/adapters/memory/in-memory-upload-repository.js';
import { PgUploadRepository } from '../../src/adapters/postgres/repositories/pg-upload-repository.js';
import { createPgPool } from '../../src/adapters/postgres/pool.js';
import { migratedDatabase } from '../support/database.js';
import { uploadRepositoryContract } from './upload-repository-contract.js';

let sequelize: Sequelize;
let pool: pg.Pool;
beforeAll(async () => {
  const db = await migratedDatabase('uploads');
  sequelize = db.sequelize;
  pool = createPgPool({ url: db.url, applicationName: 'uploads-contract' });
});
afterAll(async () => {
  await pool?.end();
  await sequelize?.close();
});

let next = 1;
uploadRepositoryContract('in memory', () =>
  Promise.resolve({ uploads: new InMemoryUploadRepository(), user: () => Promise.resolve(next++), conversation: () => Promise.resolve(next++) }),
);

uploadRepositoryContract('PostgreSQL', () =>
  Promise.resolve({
    uploads: new PgUploadRepository(pool),
    user: async () => {
      const name = `u${process.pid}_${next++}`;
      const { rows } = await pool.query<{ id: number }>(`INSERT INTO users (email, username, password) VALUES ($1, $2, 'x') RETURNING id`, [
        `${name}@example.com`,
        name,
      ]);
      return rows[0]!.id;
    },
    conversation: async (owner) => {
      const { rows } = await pool.query<{ id: number }>(`INSERT INTO conversations (created_by) VALUES ($1) RETURNING id`, [owner]);
      return rows[0]!.id;
    },
  }),
);
