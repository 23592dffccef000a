import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import type { Sequelize } from 'sequelize';
import type { PasswordResetStore } from '../../src/application/ports/password-resets.js';
import type { UserRepository } from '../../src/application/ports/user-repository.js';
import { InMemoryPasswordResetStore } from '../../src/adapters/memory/in-memory-password-reset-store.js';
import { InMemoryStore } from '../../src/adapters/memory/in-memory-store.js';
import { InMemoryUserRepository } from '../../src/adapters/memory/in-memory-user-repository.js';
import { createPgPool } from '../../src/adapters/postgres/pool.js';
import { PgPasswordResetStore } from '../../src/adapters/postgres/repositories/pg-password-reset-store.js';
import { SequelizeUserRepository } from '../../src/adapters/postgres/repositories/sequelize-user-repository.js';
import { migratedDatabase } from '../support/database.js';

let sequelize: Sequelize;
let pool: pg.Pool;
beforeAll(async () => {
  const db = await migratedDatabase('resets');
  sequelize = db.sequelize;
  pool = createPgPool({ url: db.url, applicationName: 'contract' });
});
afterAll(async () => {
  await pool?.end();
  await sequelize?.close();
});

const T0 = Date.parse('2026-12-04T10:00:00Z');
const at = (minutes: number) => new Date(T0 + minutes * 60_000);
const HOUR = { max: 3, windowMinutes: 60 };

/** The same promises from the in-memory store and the PostgreSQL one. */
function passwordResetContract(name: string, fresh: () => { users: UserRepository; resets: PasswordResetStore }) {
  describe(`${name}: password resets`, () => {
    let k = 0;
    const setUp = async () => {
      const { users, resets } = fresh();
      const created = await users.create(
        {
          email: `reset${Date.now()}${++k}@example.com`,
          username: `reset${Date.now()}${k}`,
          passwordHash: 'x',
          phoneNumber: null,
          profilePicture: null,
          role: 'tenant',
        },
        at(0),
      );
      if (!created.ok) throw new Error(created.error.code);
      const userId = created.value.id;
      const issue = (hash: string, minute: number) =>
        resets.issue({ userId, tokenHash: hash, createdAt: at(minute), expiresAt: at(minute + 30) }, { since: at(minute - HOUR.windowMinutes), max: HOUR.max });
      return { resets, userId, issue };
    };

    it('spends a token once, before its expiry only', async () => {
      const { resets, userId, issue } = await setUp();
      expect(await issue(`a${k}`, 0)).toBe(true);
      expect(await resets.consume(`a${k}`, at(30))).toBeNull();
      expect(await resets.consume(`a${k}`, at(29))).toBe(userId);
      expect(await resets.consume(`a${k}`, at(29))).toBeNull();
      expect(await resets.consume(`unknown${k}`, at(1))).toBeNull();
    });

    it('spends the earlier tokens of the user when a newer one is issued', async () => {
      const { resets, userId, issue } = await setUp();
      expect(await issue(`old${k}`, 0)).toBe(true);
      expect(await issue(`new${k}`, 1)).toBe(true);
      expect(await resets.consume(`old${k}`, at(2))).toBeNull();
      expect(await resets.consume(`new${k}`, at(2))).toBe(userId);
    });

    it('issues at most `max` tokens per window, counting spent ones, and issues again once the window has moved on', async () => {
      const { resets, userId, issue } = await setUp();
      for (const minute of [0, 1, 2]) expect(await issue(`w${minute}_${k}`, minute)).toBe(true);
      expect(await resets.consume(`w2_${k}`, at(3))).toBe(userId);
      expect(await issue(`w3_${k}`, 3)).toBe(false);
      expect(await resets.consume(`w3_${k}`, at(4))).toBeNull();
      expect(await issue(`w61_${k}`, 61)).toBe(true);
      expect(await resets.consume(`w61_${k}`, at(62))).toBe(userId);
    });
  });
}

passwordResetContract('in-memory', () => ({ users: new InMemoryUserRepository(new InMemoryStore()), resets: new InMemoryPasswordResetStore() }));
passwordResetContract('PostgreSQL', () => ({ users: new SequelizeUserRepository(sequelize), resets: new PgPasswordResetStore(pool) }));
