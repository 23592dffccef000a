import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { createSequelize } from '../../src/adapters/postgres/database.js';
import { migrate } from '../../src/adapters/postgres/migrator.js';
import { silentLogger } from './silent-logger.js';

/** A new, empty database on the run's PostgreSQL, so test files never share rows. */
export async function freshDatabase(prefix = 'test'): Promise<string> {
  const base = new URL(inject('databaseUrl'));
  const name = `${prefix}_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base.toString() });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  base.pathname = `/${name}`;
  return base.toString();
}

/** A fresh database with the schema applied, and a Sequelize instance on it. */
export async function migratedDatabase(prefix = 'test') {
  const url = await freshDatabase(prefix);
  const sequelize = createSequelize({ url, logger: silentLogger, poolMax: 5 });
  await migrate(sequelize, silentLogger);
  return { url, sequelize };
}
