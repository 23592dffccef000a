import { afterAll, beforeAll, expect, it } from 'vitest';
import type pg from 'pg';
import type { Sequelize } from 'sequelize';
import { PgEventStream } from '../../src/adapters/postgres/repositories/pg-event-stream.js';
import { createPgPool } from '../../src/adapters/postgres/pool.js';
import { MessageWriter } from '../../src/adapters/postgres/write-path/message-writer.js';
import { ensureLanes } from '../../src/adapters/postgres/write-path/write-lanes.js';
import { migratedDatabase } from '../support/database.js';
import { silentLogger } from '../support/silent-logger.js';

let sequelize: Sequelize;
let pool: pg.Pool;
let writer: MessageWriter;
beforeAll(async () => {
  const db = await migratedDatabase('horizon');
  sequelize = db.sequelize;
  pool = createPgPool({ url: db.url, applicationName: 'horizon' });
  writer = new MessageWriter(pool, { lanes: await ensureLanes(pool, 2, async () => 0), announce: null, logger: silentLogger });
});
afterAll(async () => {
  await pool?.end();
  await sequelize?.close();
});

it('never moves a cross-conversation cursor past a smaller id still being written in another lane: the read waits for it and returns both in id order', async () => {
  const { rows: users } = await pool.query<{ id: number }>(
    `INSERT INTO users (email, username, password, role) SELECT 'h' || g || '@x.test', 'h' || g, 'x', 'tenant' FROM generate_series(1, 2) g RETURNING id`,
  );
  const { rows: conversations } = await pool.query<{ id: number }>(
    `INSERT INTO conversations (kind, title, created_by) SELECT 'group', 'g', $1 FROM generate_series(1, 2) RETURNING id`,
    [users[0]!.id],
  );
  const [slow, fast] = conversations.map((c) => c.id) as [number, number];
  expect(slow % 2).not.toBe(fast % 2);
  const stream = new PgEventStream(sequelize);
  const start = await stream.horizon();

  // An event of the slow conversation draws its id under its lane's lock and stays uncommitted...
  const open = await pool.connect();
  await open.query('BEGIN');
  const { rows } = await open.query<{ id: string }>(`SELECT record_conversation_event($1, 'message.deleted', '{}'::jsonb) AS id`, [slow]);
  const pending = Number(rows[0]!.id);
  // ...while a message of the other lane, with a greater id, commits.
  const later = await writer.append({
    conversationId: fast,
    senderId: users[0]!.id,
    senderUsername: 'h1',
    content: 'later',
    type: 'text',
    attachment: null,
    clientId: null,
    createdAt: new Date(),
  });
  expect(later.message!.id).toBeGreaterThan(pending);

  const read = stream.all(start, 100, ['message.created', 'message.deleted']);
  const settled = await Promise.race([read.then(() => 'returned'), new Promise((r) => setTimeout(() => r('waiting'), 300))]);
  await open.query('COMMIT');
  open.release();
  const page = await read;
  expect(settled).toBe('waiting');
  expect(page.events.map((e) => e.id)).toEqual([pending, later.message!.id]);
  expect(page.next).toBe(later.message!.id);
});
