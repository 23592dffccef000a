import type pg from 'pg';
import type { Sequelize } from 'sequelize';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureLanes, LaneCountError } from '../../src/adapters/postgres/write-path/write-lanes.js';
import { createPgPool } from '../../src/adapters/postgres/pool.js';
import { migratedDatabase } from '../support/database.js';

let sequelize: Sequelize;
let pool: pg.Pool;

beforeAll(async () => {
  const db = await migratedDatabase('lanes');
  sequelize = db.sequelize;
  pool = createPgPool({ url: db.url, applicationName: 'lanes' });
});
afterAll(async () => {
  await pool?.end();
  await sequelize?.close();
});

const cursors = async () =>
  (await pool.query<{ lane: number; last_id: string }>('SELECT lane, last_id FROM write_lanes ORDER BY lane')).rows.map((r) => [r.lane, Number(r.last_id)]);

describe('the cluster’s lane count', () => {
  it('is 1 for a new database when unset, kept when unset later, changed only with no process alive, and fewer lanes take the highest cursor', async () => {
    expect(await ensureLanes(pool, undefined, async () => 0)).toBe(1);
    expect(await ensureLanes(pool, 4, async () => 0)).toBe(4);
    expect(await ensureLanes(pool, undefined, async () => 1)).toBe(4);
    await expect(ensureLanes(pool, 2, async () => 1)).rejects.toBeInstanceOf(LaneCountError);
    await pool.query('UPDATE write_lanes SET last_id = 100 + lane * 10');
    expect(await ensureLanes(pool, 2, async () => 0)).toBe(2);
    expect(await cursors()).toEqual([
      [0, 130],
      [1, 130],
    ]);
  });
});
