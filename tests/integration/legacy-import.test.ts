import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { importLegacy, ImportConflictError, type ImportReport } from '../../src/adapters/legacy-import/legacy-importer.js';
import { freshDatabase, migratedDatabase } from '../support/database.js';
import { fillOriginal, ORIGINAL } from '../support/original-backend.js';
import { silentLogger } from '../support/silent-logger.js';
import { dumpImported } from '../support/table-dump.js';

const closers: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const close of closers.reverse()) await close().catch(() => undefined);
});

async function client(url: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  closers.push(() => c.end());
  return c;
}

/** An original database, filled; and an empty target with this server's schema. */
async function setUp() {
  const originalUrl = await freshDatabase('orig');
  const filled = await fillOriginal(originalUrl);
  const target = await migratedDatabase('imported');
  closers.push(() => target.sequelize.close());
  return { filled, source: await client(originalUrl), originalUrl, target: await client(target.url) };
}

const run = (source: pg.Client, target: pg.Client, batchSize = 25): Promise<ImportReport> => importLegacy({ source, target, batchSize, logger: silentLogger });
const { users: U, conversations: C } = ORIGINAL;

describe('importing the original backend’s database', () => {
  it('copies users, conversations, participants and messages with their ids, then copies nothing more', async () => {
    const { filled, source, target } = await setUp();
    const report = await run(source, target);

    expect(report.users).toEqual({ imported: 6, alreadyThere: 0, skipped: 0, renamed: [{ id: U.Ben, from: 'Ben', to: `Ben_${U.Ben}` }], roleDefaulted: 1 });
    const users = (await target.query('SELECT id, email, username, password, role, is_staff, deleted_at FROM users ORDER BY id')).rows;
    expect(users.map((u) => u.id)).toEqual([U.ann, U.ben, U.cat, U.Ben, U.dan, U.admin]);
    expect(users[0]).toMatchObject({
      email: 'ann@example.com',
      username: 'ann',
      role: 'landlord',
      password: expect.stringMatching(/^pbkdf2_sha256\$100000\$/),
    });
    expect(users.find((u) => u.id === U.dan).deleted_at).toBeInstanceOf(Date);
    expect(users.find((u) => u.id === U.admin)).toMatchObject({ role: 'tenant', is_staff: true, password: '!unusable' });

    // Direct: no title (a blank one counts as none) and two live participants; the pair's second direct chat merges into the first.
    expect(report.conversations).toEqual({ imported: 4, alreadyThere: 0, skipped: 1, direct: 2, merged: 1 });
    const conversations = (
      await target.query('SELECT id, title, kind, is_open, created_by, direct_key, deleted_at IS NOT NULL AS deleted FROM conversations ORDER BY id')
    ).rows;
    expect(conversations).toEqual([
      { id: C.direct, title: null, kind: 'direct', is_open: false, created_by: U.ann, direct_key: `${U.ann}:${U.ben}`, deleted: false },
      { id: C.group, title: 'House 12', kind: 'group', is_open: false, created_by: U.ann, direct_key: null, deleted: false },
      { id: C.untitledGroup, title: null, kind: 'group', is_open: false, created_by: U.cat, direct_key: null, deleted: false },
      { id: C.deletedDirect, title: null, kind: 'direct', is_open: false, created_by: U.ann, direct_key: `${U.ann}:${U.cat}`, deleted: true },
    ]);
    const merged = await target.query(`SELECT new_id FROM legacy_id_map WHERE entity = 'conversations' AND legacy_id = $1`, [C.secondDirect]);
    expect(merged.rows).toEqual([{ new_id: String(C.direct) }]);

    expect(report.participants).toEqual({ imported: 11, alreadyThere: 2, skipped: 0 });
    const left = await target.query('SELECT deleted_at FROM conversation_participants WHERE conversation_id = $1 AND user_id = $2', [C.group, U.dan]);
    expect(left.rows[0].deleted_at).toBeInstanceOf(Date);

    expect(report.messages).toEqual({ imported: filled.messages, alreadyThere: 0, skipped: 0, mediaWithoutUrl: 1 });
    const messages = (await target.query('SELECT id, conversation_id, content, type, attachment, deleted_at IS NOT NULL AS deleted FROM messages ORDER BY id'))
      .rows;
    expect(messages.map((m) => Number(m.id))).toEqual(Array.from({ length: filled.messages }, (_, i) => i + 1));
    expect(messages.filter((m) => m.deleted)).toHaveLength(filled.deleted);
    expect(messages.find((m) => m.type === 'file' && m.conversation_id === C.direct)).toMatchObject({
      content: 'https://media.example.com/uploads/lease.pdf',
      attachment: { url: 'https://media.example.com/uploads/lease.pdf' },
    });
    expect(messages.find((m) => m.content === '/uploads/relative/photo.png')).toMatchObject({ type: 'image', attachment: null });
    expect(messages.find((m) => m.content === 'in the second direct chat').conversation_id).toBe(C.direct);

    // Read markers: the newest message each sent, or that the original marked read.
    const markers = await target.query('SELECT user_id, last_read_message_id FROM conversation_participants WHERE conversation_id = $1 ORDER BY user_id', [
      C.direct,
    ]);
    const newestOf = (where: (m: { content: string }) => boolean) => Math.max(...messages.filter(where).map((m) => Number(m.id)));
    expect(markers.rows.map((r) => [r.user_id, Number(r.last_read_message_id)])).toEqual([
      [U.ann, newestOf((m) => m.content.endsWith('kitchen.jpg'))],
      [U.ben, newestOf((m) => m.content === 'see attached')],
    ]);
    expect(report.readMarkersSet).toBeGreaterThan(0);

    // New rows never take an original id.
    const next = await target.query(`SELECT pg_sequence_last_value(pg_get_serial_sequence('messages', 'id')::regclass) AS last`);
    expect(Number(next.rows[0].last)).toBeGreaterThanOrEqual(filled.lastMessageId);

    const before = await dumpImported(target);
    const again = await run(source, target, 7);
    expect(again.users.imported + again.conversations.imported + again.participants.imported + again.messages.imported + again.readMarkersSet).toBe(0);
    expect(again.messages.alreadyThere).toBe(filled.messages);
    expect(await dumpImported(target)).toEqual(before);
  });

  it('reads snake_case timestamps as well as Sequelize’s camelCase ones, to the same result', async () => {
    const camel = await setUp();
    await run(camel.source, camel.target);
    const snake = await setUp();
    for (const table of ['conversations', 'conversation_participants', 'messages']) {
      await snake.source.query(
        `ALTER TABLE ${table} RENAME "createdAt" TO created_at; ALTER TABLE ${table} RENAME "updatedAt" TO updated_at; ALTER TABLE ${table} RENAME "deletedAt" TO deleted_at`,
      );
    }
    await run(snake.source, snake.target);
    const volatile = ['password', 'imported_at'];
    expect(await dumpImported(snake.target, volatile)).toEqual(await dumpImported(camel.target, volatile));
  });

  it('refuses, writing nothing, when an original user’s id, email or username is taken here by someone else', async () => {
    const { source, target } = await setUp();
    await target.query(`INSERT INTO users (id, email, username, password) VALUES (40, 'ANN@example.com', 'someone', 'x'), (${U.cat}, 'c@x.io', 'c', 'x')`);
    const refused = await run(source, target).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ImportConflictError);
    expect((refused as Error).message).toMatch(new RegExp(`original user ${U.ann}: its email is taken here by user 40`));
    expect((refused as Error).message).toMatch(new RegExp(`original user ${U.cat}: its id is taken here by user ${U.cat}`));
    expect((await target.query('SELECT count(*)::int AS n FROM legacy_id_map')).rows[0].n).toBe(0);
    expect((await target.query('SELECT count(*)::int AS n FROM users')).rows[0].n).toBe(2);
  });

  it('gives a conversation whose id is taken here a new one, and its messages follow it', async () => {
    const { source, target } = await setUp();
    await target.query(`INSERT INTO users (id, email, username, password) VALUES (40, 'own@x.io', 'own', 'x')`);
    await target.query(`INSERT INTO conversations (id, title, kind, created_by) VALUES ($1, 'already here', 'group', 40)`, [C.group]);
    await target.query(`SELECT setval('conversations_id_seq', 20)`);
    await run(source, target);
    const moved = Number((await target.query(`SELECT new_id FROM legacy_id_map WHERE entity = 'conversations' AND legacy_id = $1`, [C.group])).rows[0].new_id);
    expect(moved).toBeGreaterThan(20);
    expect((await target.query('SELECT title FROM conversations WHERE id = $1', [C.group])).rows[0].title).toBe('already here');
    expect((await target.query('SELECT title FROM conversations WHERE id = $1', [moved])).rows[0].title).toBe('House 12');
    const counts = await target.query('SELECT conversation_id, count(*)::int AS n FROM messages WHERE conversation_id IN ($1, $2) GROUP BY 1', [
      C.group,
      moved,
    ]);
    expect(counts.rows).toEqual([{ conversation_id: moved, n: ORIGINAL.groupMessages }]);
  });
});
