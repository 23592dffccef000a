import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sequelize } from 'sequelize';
import { PgEventStream } from '../../src/adapters/postgres/repositories/pg-event-stream.js';
import { migratedDatabase } from '../support/database.js';

let sequelize: Sequelize;
let url: string;
let conversationId: number;
let senderId: number;

beforeAll(async () => {
  ({ url, sequelize } = await migratedDatabase('horizon'));
  const [[user]] = (await sequelize.query(`INSERT INTO users (email, username, password) VALUES ('h@x.io', 'h', 'x') RETURNING id`)) as [
    Array<{ id: number }>,
    unknown,
  ];
  senderId = user!.id;
  const [[conversation]] = (await sequelize.query(`INSERT INTO conversations (title, created_by) VALUES ('h', ${senderId}) RETURNING id`)) as [
    Array<{ id: number }>,
    unknown,
  ];
  conversationId = conversation!.id;
  await sequelize.query(`INSERT INTO write_lanes (lane, last_id) VALUES (0, 0) ON CONFLICT DO NOTHING`);
});

afterAll(async () => {
  await sequelize?.close();
});

describe('the event stream across conversations', () => {
  it('never moves past a message whose write was in flight when the read began (the horizon waits for it, the read then sees it)', async () => {
    const stream = new PgEventStream(sequelize);
    const start = await stream.horizon();
    // A write in flight: the lane's lock held, the message's id drawn, not yet committed.
    const writer = new pg.Client({ connectionString: url });
    await writer.connect();
    try {
      await writer.query('BEGIN');
      await writer.query('SELECT pg_advisory_xact_lock(727002, 0)');
      const { rows } = await writer.query<{ id: string }>(
        `INSERT INTO messages (id, conversation_id, sender_id, content) VALUES (nextval('messages_id_seq'), $1, $2, 'in flight') RETURNING id`,
        [conversationId, senderId],
      );
      const id = Number(rows[0]!.id);
      const reading = stream.all(start, 100, ['message.created']);
      // Time for the read to start and wait on the lane; then the write commits. The read must return the message or stop before it.
      await new Promise((r) => setTimeout(r, 300));
      await writer.query('COMMIT');
      const page = await reading;
      const delivered = page.events.map((e) => e.id);
      const rest = await stream.all(page.next, 100, ['message.created']);
      expect([...delivered, ...rest.events.map((e) => e.id)]).toEqual([id]);
    } finally {
      await writer.end();
    }
  });
});
