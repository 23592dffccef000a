import type pg from 'pg';
import { QueryTypes, type Sequelize } from 'sequelize';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageWriter, MissingReferenceError } from '../../src/adapters/postgres/write-path/message-writer.js';
import { ensureLanes } from '../../src/adapters/postgres/write-path/write-lanes.js';
import { SequelizeConversationRepository } from '../../src/adapters/postgres/repositories/sequelize-conversation-repository.js';
import { SequelizeUserRepository } from '../../src/adapters/postgres/repositories/sequelize-user-repository.js';
import { createPgPool } from '../../src/adapters/postgres/pool.js';
import type { MessageDraft } from '../../src/domain/message.js';
import { migratedDatabase } from '../support/database.js';
import { silentLogger } from '../support/silent-logger.js';

const LANES = 3;
let sequelize: Sequelize;
let pool: pg.Pool;
let messages: MessageWriter;
let conversationId: number;
let senders: number[];

beforeAll(async () => {
  const db = await migratedDatabase('batch');
  sequelize = db.sequelize;
  pool = createPgPool({ url: db.url, applicationName: 'batch' });
  await ensureLanes(pool, LANES, async () => 0);
  const users = new SequelizeUserRepository(sequelize);
  senders = [];
  for (let i = 0; i < 4; i++) {
    const u = await users.create(
      { email: `b${i}@x.io`, username: `b${i}`, passwordHash: 'h', phoneNumber: null, profilePicture: null, role: 'tenant' },
      new Date(),
    );
    if (u.ok) senders.push(u.value.id);
  }
  const conversations = new SequelizeConversationRepository(sequelize);
  conversationId = (await conversations.createGroup({ title: 'batch', isOpen: false, createdBy: senders[0]!, participantIds: senders }, new Date())).id;
  messages = new MessageWriter(pool, { lanes: LANES, announce: null, maxBatchSize: 100, logger: silentLogger });
});
afterAll(async () => {
  await pool?.end();
  await sequelize?.close();
});

const draft = (content: string, senderId = senders[0]!, clientId: string | null = null, conversation = conversationId): MessageDraft => ({
  conversationId: conversation,
  senderId,
  senderUsername: 'x',
  content,
  type: 'text',
  attachment: null,
  clientId,
  createdAt: new Date(),
});
const commits = async () =>
  Number(
    (await sequelize.query<{ n: string }>('SELECT xact_commit AS n FROM pg_stat_database WHERE datname = current_database()', { type: QueryTypes.SELECT }))[0]!
      .n,
  );

describe('group commit on PostgreSQL', () => {
  it('writes concurrent sends in far fewer transactions than messages, each acknowledged once stored', async () => {
    const before = await commits();
    const stored = await Promise.all(Array.from({ length: 500 }, (_, i) => messages.append(draft(`bulk ${i}`, senders[i % 4]))));
    // Statistics are flushed lazily; force them before reading.
    await sequelize.query('SELECT pg_stat_force_next_flush()');
    const used = (await commits()) - before;
    expect(stored.every((s) => s.created)).toBe(true);
    expect(used).toBeLessThan(60);
    const [row] = await sequelize.query<{ n: string }>("SELECT count(*) AS n FROM messages WHERE content LIKE 'bulk %'", { type: QueryTypes.SELECT });
    expect(Number(row!.n)).toBe(500);
  });

  it('keeps a conversation’s order: ids increase in the order sends were made', async () => {
    const stored = await Promise.all(Array.from({ length: 300 }, (_, i) => messages.append(draft(`order ${i}`, senders[i % 3]))));
    for (let i = 1; i < stored.length; i++) expect(stored[i]!.message!.id).toBeGreaterThan(stored[i - 1]!.message!.id);
  });

  it('stores a client id once even when repeats share a batch, answering every repeat with the original', async () => {
    const stored = await Promise.all([
      messages.append(draft('first', senders[1], 'same-key')),
      messages.append(draft('second', senders[1], 'same-key')),
      messages.append(draft('other', senders[2], 'same-key')),
      messages.append(draft('third', senders[1], 'same-key')),
    ]);
    expect(stored.map((s) => s.created)).toEqual([true, false, true, false]);
    expect(new Set([stored[0], stored[1], stored[3]].map((s) => s!.message!.id)).size).toBe(1);
    expect(stored[1]!.message!.content).toBe('first');
    const later = await messages.append(draft('much later', senders[1], 'same-key'));
    expect(later).toMatchObject({ created: false, message: { id: stored[0]!.message!.id } });
  });

  it('fails only the bad row of a batch and stores its neighbours', async () => {
    // A conversation that does not exist, in the same lane as the good rows so that all three share a batch.
    const missing = conversationId + LANES * 1_000_000;
    const results = await Promise.allSettled([
      messages.append(draft('good 1')),
      messages.append(draft('bad: no such conversation', senders[0], null, missing)),
      messages.append(draft('good 2')),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const ids = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.message!.id] : []));
    const rows = await sequelize.query<{ id: string }>('SELECT id FROM messages WHERE id = ANY($1::bigint[])', { bind: [ids], type: QueryTypes.SELECT });
    expect(rows).toHaveLength(2);
  });

  it('drains: everything queued is committed before drain resolves', async () => {
    const pending = Array.from({ length: 50 }, (_, i) => messages.append(draft(`drain ${i}`)));
    await messages.drain();
    const [row] = await sequelize.query<{ n: string }>("SELECT count(*) AS n FROM messages WHERE content LIKE 'drain %'", { type: QueryTypes.SELECT });
    expect(Number(row!.n)).toBe(50);
    await Promise.all(pending);
  });
});

describe('message references without per-row foreign keys', () => {
  it('stores a batch’s good rows and refuses only the one whose conversation or sender does not exist', async () => {
    const [ghostSender, good, ghostConversation] = await Promise.allSettled([
      messages.append(draft('ghost sender', 1_999_999_999)),
      messages.append(draft('stored beside the ghosts')),
      messages.append(draft('ghost conversation', senders[0], null, conversationId + LANES * 2_000_000)),
    ]);
    expect(ghostSender).toMatchObject({ status: 'rejected', reason: expect.any(MissingReferenceError) });
    expect(ghostConversation).toMatchObject({ status: 'rejected', reason: expect.any(MissingReferenceError) });
    expect(good).toMatchObject({ status: 'fulfilled', value: { created: true } });
    const { rows } = await pool.query("SELECT content FROM messages WHERE content LIKE 'ghost%' OR content = 'stored beside the ghosts'");
    expect(rows).toEqual([{ content: 'stored beside the ghosts' }]);
  });

  it('refuses other writers’ orphan messages, and the deletion or re-keying of a referenced user or conversation', async () => {
    await expect(
      pool.query("INSERT INTO messages (conversation_id, sender_id, content, type) VALUES ($1, 1999999999, 'orphan', 'text')", [conversationId]),
    ).rejects.toMatchObject({
      code: '23503',
    });
    await expect(
      pool.query("INSERT INTO messages (conversation_id, sender_id, content, type) VALUES ($1, $2, 'orphan', 'text')", [
        conversationId + 5_000_000,
        senders[0],
      ]),
    ).rejects.toMatchObject({ code: '23503' });
    const stored = await messages.append(draft('referenced'));
    expect(stored.created).toBe(true);
    await expect(pool.query('DELETE FROM users WHERE id = $1', [senders[0]])).rejects.toMatchObject({ code: '23503' });
    await expect(pool.query('DELETE FROM conversations WHERE id = $1', [conversationId])).rejects.toMatchObject({ code: '23503' });
    await expect(pool.query('UPDATE users SET id = 1999999 WHERE id = $1', [senders[0]])).rejects.toMatchObject({ code: '23503' });
    await expect(pool.query('UPDATE messages SET conversation_id = conversation_id + 1 WHERE id = $1', [stored.message!.id])).rejects.toMatchObject({
      code: '23503',
    });
    // A user with no messages can still be deleted.
    const { rows } = await pool.query<{ id: number }>(
      "INSERT INTO users (email, username, password, role) VALUES ('free@x.io', 'free', 'h', 'tenant') RETURNING id",
    );
    await pool.query('DELETE FROM users WHERE id = $1', [rows[0]!.id]);
  });

  it('a delete racing an insert never leaves an orphan: the delete waits for the insert and is refused, or the insert waits for the delete and is refused', async () => {
    const fresh = async (name: string) =>
      (await pool.query<{ id: number }>("INSERT INTO users (email, username, password, role) VALUES ($1, $1, 'h', 'tenant') RETURNING id", [`${name}@x.io`]))
        .rows[0]!.id;

    // The insert first: its transaction is open when the delete comes; the delete waits, then sees the message.
    const writerFirst = await fresh('race-a');
    const inserting = await pool.connect();
    try {
      await inserting.query('BEGIN');
      await inserting.query("INSERT INTO messages (conversation_id, sender_id, content, type) VALUES ($1, $2, 'racing', 'text')", [
        conversationId,
        writerFirst,
      ]);
      // Settled into a value at once: it may be refused while the COMMIT below is still on its way.
      const deleting = pool.query('DELETE FROM users WHERE id = $1', [writerFirst]).then(
        () => null,
        (error: unknown) => error,
      );
      await waitForLockWait();
      await inserting.query('COMMIT');
      expect(await deleting).toMatchObject({ code: '23503' });
    } finally {
      inserting.release();
    }

    // The delete first: the batch statement waits for it, then finds the sender gone and stores nothing for it.
    const deletedFirst = await fresh('race-b');
    const deleter = await pool.connect();
    try {
      await deleter.query('BEGIN');
      await deleter.query('DELETE FROM users WHERE id = $1', [deletedFirst]);
      const appending = messages.append(draft('after the delete', deletedFirst)).then(
        () => null,
        (error: unknown) => error,
      );
      await waitForLockWait();
      await deleter.query('COMMIT');
      expect(await appending).toBeInstanceOf(MissingReferenceError);
    } finally {
      deleter.release();
    }
    const { rows } = await pool.query('SELECT count(*)::int AS n FROM messages m WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = m.sender_id)');
    expect(rows[0]).toEqual({ n: 0 });
  });
});

/** Resolves once some backend of this database waits for a lock (the racing statement has reached it). */
async function waitForLockWait(): Promise<void> {
  for (let i = 0; i < 500; i++) {
    const { rows } = await pool.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'");
    if (rows[0].n > 0) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('no statement came to wait for the lock');
}
