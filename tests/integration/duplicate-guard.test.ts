import pg from 'pg';
import type { Sequelize } from 'sequelize';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageWriter } from '../../src/adapters/postgres/write-path/message-writer.js';
import { ensureLanes, LANE_LOCK, laneOf } from '../../src/adapters/postgres/write-path/write-lanes.js';
import { SequelizeConversationRepository } from '../../src/adapters/postgres/repositories/sequelize-conversation-repository.js';
import { SequelizeUserRepository } from '../../src/adapters/postgres/repositories/sequelize-user-repository.js';
import { createPgPool } from '../../src/adapters/postgres/pool.js';
import type { Stored } from '../../src/application/ports/fanout.js';
import type { MessageDraft } from '../../src/domain/message.js';
import { migratedDatabase } from '../support/database.js';
import { silentLogger } from '../support/silent-logger.js';

const LANES = 3;
const GUARD = { duplicateWindowMs: 10_000 };
let url: string;
let sequelize: Sequelize;
/** Two server processes, as far as the write path is concerned: each its own pool and writer. */
let pools: pg.Pool[];
let writers: MessageWriter[];
let conversationId: number;
let sender: number;

beforeAll(async () => {
  const db = await migratedDatabase('dupguard');
  ({ url, sequelize } = db);
  pools = [0, 1].map((i) => createPgPool({ url, applicationName: `dup-${i}` }));
  await ensureLanes(pools[0]!, LANES, async () => 0);
  writers = pools.map((pool) => new MessageWriter(pool, { lanes: LANES, announce: null, logger: silentLogger }));
  const users = new SequelizeUserRepository(sequelize);
  const ids: number[] = [];
  for (const name of ['dupa', 'dupb']) {
    const u = await users.create(
      { email: `${name}@x.io`, username: name, passwordHash: 'h', phoneNumber: null, profilePicture: null, role: 'tenant' },
      new Date(),
    );
    if (!u.ok) throw new Error(u.error.code);
    ids.push(u.value.id);
  }
  sender = ids[0]!;
  conversationId = (
    await new SequelizeConversationRepository(sequelize).createGroup({ title: 'dup', isOpen: false, createdBy: sender, participantIds: ids }, new Date())
  ).id;
});
afterAll(async () => {
  for (const pool of pools ?? []) await pool.end();
  await sequelize?.close();
});

const draft = (content: string): MessageDraft => ({
  conversationId,
  senderId: sender,
  senderUsername: 'x',
  content,
  type: 'text',
  attachment: null,
  clientId: null,
  createdAt: new Date(),
});
const stored = async (content: string) =>
  Number((await pools[0]!.query<{ n: string }>('SELECT count(*) AS n FROM messages WHERE content = $1', [content])).rows[0]!.n);

describe('the duplicate guard across processes', () => {
  it('stores one message when two processes get the same send while both wait for the lane', async () => {
    // Hold the lane, so that both statements start (and take their snapshots) before either commits.
    const holder = new pg.Client({ connectionString: url });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT pg_advisory_xact_lock($1, $2)', [LANE_LOCK, laneOf(conversationId, LANES)]);
      const both = Promise.all(writers.map((w) => w.append(draft('sent twice, on two processes'), GUARD)));
      const waiting = async () =>
        Number(
          (await holder.query<{ n: string }>(`SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND classid = $1 AND NOT granted`, [LANE_LOCK]))
            .rows[0]!.n,
        );
      for (let n = 0; (await waiting()) < 2; n++) {
        if (n > 400) throw new Error('the two statements never waited for the lane');
        await new Promise((r) => setTimeout(r, 25));
      }
      await holder.query('COMMIT');
      const [a, b] = (await both) as [Stored, Stored];
      expect([a.created, b.created].sort()).toEqual([false, true]);
      expect(a.message!.id).toBe(b.message!.id);
      expect(await stored('sent twice, on two processes')).toBe(1);
    } finally {
      await holder.end();
    }
  });

  it('stores one message per distinct send under concurrent load from both processes', async () => {
    const rounds = 25;
    const answers = await Promise.all(Array.from({ length: rounds }, (_, i) => [0, 1, 0, 1].map((w) => writers[w]!.append(draft(`round ${i}`), GUARD))).flat());
    for (let i = 0; i < rounds; i++) {
      const mine = answers.slice(i * 4, i * 4 + 4);
      expect(mine.filter((s) => s.created)).toHaveLength(1);
      expect(new Set(mine.map((s) => s.message!.id)).size).toBe(1);
      expect(await stored(`round ${i}`)).toBe(1);
    }
  });
});
