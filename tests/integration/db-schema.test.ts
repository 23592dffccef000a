import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createSequelize, ensureSchema } from '../../src/adapters/postgres/database.js';
import { migrate } from '../../src/adapters/postgres/migrator.js';
import { freshDatabase } from '../support/database.js';
import { silentLogger } from '../support/silent-logger.js';

const closers: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const close of closers.reverse()) await close().catch(() => undefined);
});

const query = async (url: string, sql: string) => {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
};

/**
 * A database shared with an older application: its tables (a migrations table
 * among them) stay in `public`, this server's go to DB_SCHEMA.
 */
describe('DB_SCHEMA beside a public schema that has its own schema_migrations', () => {
  it('migrates into the configured schema, twice, and leaves public alone', async () => {
    const url = await freshDatabase('schema');
    await query(
      url,
      `CREATE TABLE public.schema_migrations (name varchar(255) PRIMARY KEY); INSERT INTO public.schema_migrations VALUES ('20200101-someone-elses')`,
    );
    const sequelize = createSequelize({ url, schema: 'chat', logger: silentLogger, poolMax: 2 });
    closers.push(() => sequelize.close());
    await ensureSchema(sequelize, 'chat');

    const applied = await migrate(sequelize, silentLogger);
    expect(applied.length).toBeGreaterThan(0);
    expect(await migrate(sequelize, silentLogger)).toEqual([]);

    const history = await query(url, 'SELECT name FROM chat.schema_migrations ORDER BY name');
    expect(history.map((r) => r.name)).toEqual(applied);
    expect(await query(url, 'SELECT name FROM public.schema_migrations')).toEqual([{ name: '20200101-someone-elses' }]);
    const tables = await query(url, `SELECT table_schema FROM information_schema.tables WHERE table_name = 'messages'`);
    expect(tables).toEqual([{ table_schema: 'chat' }]);
  });
});
