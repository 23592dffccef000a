import { readFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import type { Logger } from '../../src/application/ports/services.js';
import {
  importLegacy,
  ImportConflictError,
  OriginalSchemaError,
  type ImportReport,
  type LegacyImportOptions,
} from '../../src/adapters/legacy-import/legacy-importer.js';
import { REASONS } from '../../src/adapters/legacy-import/import-report.js';
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

const run = (source: pg.Client, target: pg.Client, batchSize = 25, more: Partial<LegacyImportOptions> = {}): Promise<ImportReport> =>
  importLegacy({ source, target, batchSize, logger: silentLogger, ...more });
const { users: U, conversations: C } = ORIGINAL;

/** A logger that keeps its warnings, as the JSON lines would carry them. */
function warningsLogger(): { logger: Logger; warnings: Array<Record<string, unknown> & { msg: string }> } {
  const warnings: Array<Record<string, unknown> & { msg: string }> = [];
  const logger: Logger = {
    ...silentLogger,
    warn: (obj: unknown, msg?: string) => void warnings.push({ ...(obj as Record<string, unknown>), msg: msg ?? '' }),
    child: () => logger,
  };
  return { logger, warnings };
}

describe('importing the original backend’s database', () => {
  it('copies users from users_user, conversations, participants and messages with their ids, reports what it skipped or changed, then copies nothing more', async () => {
    const { filled, source, target } = await setUp();
    const { logger, warnings } = warningsLogger();
    const report = await run(source, target, 25, { logger });

    expect(report.users).toEqual({
      source: 'users_user',
      imported: 7,
      alreadyThere: 0,
      skipped: 0,
      skippedFor: {},
      changed: {
        USERNAME_RENAMED: { count: 1, ids: [U.Ben] },
        ROLE_USER: { count: 1, ids: [U.cat] },
        ROLE_STAFF: { count: 1, ids: [U.Ben] },
        ROLE_MISSING: { count: 1, ids: [U.admin] },
        ROLE_UNKNOWN: { count: 1, ids: [U.olga] },
      },
    });
    const users = (await target.query('SELECT id, email, username, password, role, is_staff, deleted_at FROM users ORDER BY id')).rows;
    expect(users.map((u) => u.id)).toEqual([U.ann, U.ben, U.cat, U.Ben, U.dan, U.admin, U.olga]);
    expect(users[0]).toMatchObject({
      email: 'ann@example.com',
      username: 'ann',
      role: 'landlord',
      password: expect.stringMatching(/^pbkdf2_sha256\$100000\$/),
    });
    expect(users.find((u) => u.id === U.dan).deleted_at).toBeInstanceOf(Date);
    // Roles outside landlord/tenant: tenant; a role label grants no staff rights (is_staff alone does).
    const roles = users.map((u) => [u.username, u.role, u.is_staff]);
    expect(roles).toEqual([
      ['ann', 'landlord', false],
      ['ben', 'tenant', false],
      ['cat', 'tenant', false],
      [`Ben_${U.Ben}`, 'tenant', false],
      ['dan', 'tenant', false],
      ['admin', 'tenant', true],
      ['olga', 'tenant', false],
    ]);
    expect(users.find((u) => u.id === U.admin)).toMatchObject({ password: '!unusable' });

    // Direct: no title and two live participants; the pair's second direct chat merges into the first.
    expect(report.conversations).toEqual({
      source: 'conversations',
      imported: 5,
      alreadyThere: 0,
      skipped: 1,
      skippedFor: { NO_PARTICIPANTS: { count: 1, ids: [C.empty] } },
      changed: { MERGED_DIRECT: { count: 1, ids: [C.secondDirect] } },
    });
    const conversations = (
      await target.query('SELECT id, title, kind, is_open, created_by, direct_key, deleted_at IS NOT NULL AS deleted FROM conversations ORDER BY id')
    ).rows;
    expect(conversations).toEqual([
      { id: C.direct, title: null, kind: 'direct', is_open: false, created_by: U.ann, direct_key: `${U.ann}:${U.ben}`, deleted: false },
      { id: C.group, title: null, kind: 'group', is_open: false, created_by: U.ann, direct_key: null, deleted: false },
      { id: C.untitledGroup, title: null, kind: 'group', is_open: false, created_by: U.ann, direct_key: null, deleted: false },
      { id: C.deletedDirect, title: null, kind: 'direct', is_open: false, created_by: U.ann, direct_key: `${U.ann}:${U.cat}`, deleted: true },
    ]);
    const merged = await target.query(`SELECT new_id FROM legacy_id_map WHERE entity = 'conversations' AND legacy_id = $1`, [C.secondDirect]);
    expect(merged.rows).toEqual([{ new_id: String(C.direct) }]);

    // cat left the group and came back: one row, the live one; the ghost (in `user` only) is not taken.
    expect(report.participants).toEqual({
      source: 'conversation_participants',
      imported: 11,
      alreadyThere: 2,
      skipped: 2,
      skippedFor: { DUPLICATE_PARTICIPANT: { count: 1, ids: [`${C.group}:${U.cat}`] }, USER_NOT_IMPORTED: { count: 1, ids: [`${C.group}:${U.ghost}`] } },
      changed: {},
    });
    const group = await target.query('SELECT user_id, deleted_at IS NOT NULL AS deleted FROM conversation_participants WHERE conversation_id = $1 ORDER BY 1', [
      C.group,
    ]);
    expect(group.rows).toEqual([
      { user_id: U.ann, deleted: false },
      { user_id: U.ben, deleted: false },
      { user_id: U.cat, deleted: false },
      { user_id: U.dan, deleted: true },
    ]);

    const messages = (await target.query('SELECT id, conversation_id, content, type, attachment, deleted_at IS NOT NULL AS deleted FROM messages ORDER BY id'))
      .rows;
    const idOf = (content: string) => Number(messages.find((m) => m.content === content).id);
    expect(report.messages).toEqual({
      source: 'messages',
      imported: filled.messages,
      alreadyThere: 0,
      skipped: 1,
      skippedFor: { SENDER_NOT_IMPORTED: { count: 1, ids: [filled.ghostMessageId] } },
      changed: {
        MEDIA_WITHOUT_URL: { count: 1, ids: [idOf('/uploads/relative/photo.png')] },
        TYPE_UNKNOWN: { count: 1, ids: [idOf('https://media.example.com/uploads/voice.ogg')] },
      },
    });
    expect(messages.map((m) => Number(m.id))).toEqual(Array.from({ length: filled.messages }, (_, i) => i + 1));
    expect(messages.filter((m) => m.deleted)).toHaveLength(filled.deleted);
    expect(messages.find((m) => m.type === 'file' && m.conversation_id === C.direct)).toMatchObject({
      content: 'https://media.example.com/uploads/lease.pdf',
      attachment: { url: 'https://media.example.com/uploads/lease.pdf' },
    });
    expect(messages.find((m) => m.content === '/uploads/relative/photo.png')).toMatchObject({ type: 'image', attachment: null });
    expect(messages.find((m) => m.content.endsWith('voice.ogg'))).toMatchObject({ type: 'text', attachment: null });
    expect(messages.find((m) => m.content === 'in the second direct chat').conversation_id).toBe(C.direct);

    // Each row left out, and each change a person notices, is a log line of its own: table, id, reason.
    const lines = warnings.map(({ table, id, reason, msg }) => ({ table, id, reason, msg }));
    expect(lines).toEqual([
      { table: 'users_user', id: U.Ben, reason: 'USERNAME_RENAMED', msg: 'row changed' },
      { table: 'users_user', id: U.Ben, reason: 'ROLE_STAFF', msg: 'row changed' },
      { table: 'users_user', id: U.olga, reason: 'ROLE_UNKNOWN', msg: 'row changed' },
      { table: 'conversations', id: C.empty, reason: 'NO_PARTICIPANTS', msg: 'row skipped' },
      { table: 'conversation_participants', id: `${C.group}:${U.cat}`, reason: 'DUPLICATE_PARTICIPANT', msg: 'row skipped' },
      { table: 'conversation_participants', id: `${C.group}:${U.ghost}`, reason: 'USER_NOT_IMPORTED', msg: 'row skipped' },
      { table: 'messages', id: filled.ghostMessageId, reason: 'SENDER_NOT_IMPORTED', msg: 'row skipped' },
    ]);
    expect(warnings.find((w) => w.reason === 'ROLE_UNKNOWN')).toMatchObject({ role: 'owner' });

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
    // Batches of 5 end inside the pair of cat's two group rows: the pair is still read as one.
    const again = await run(source, target, 5);
    expect([again.users, again.conversations, again.participants, again.messages].map((t) => [t.imported, t.alreadyThere, t.skipped])).toEqual([
      [0, 7, 0],
      [0, 5, 1],
      [0, 13, 2],
      [0, filled.messages, 1],
    ]);
    expect(again.readMarkersSet).toBe(0);
    expect(await dumpImported(target)).toEqual(before);
  });

  it('reads `user` where Django’s users_user is absent, the table an option names over the one found, and names every candidate when none exists', async () => {
    const { source, target } = await setUp();
    // Named: the migration's `user` although users_user exists.
    const named = await run(source, target, 25, { sourceTables: { users: 'user' } });
    expect(named.users).toMatchObject({ source: 'user', imported: 8 });
    expect((await target.query(`SELECT username FROM users WHERE id = $1`, [U.ghost])).rows).toEqual([{ username: `user${U.ghost}` }]);

    const found = await setUp();
    await found.source.query('DROP TABLE users_user');
    expect((await run(found.source, found.target)).users).toMatchObject({ source: 'user', imported: 8 });

    const none = await setUp();
    await none.source.query('DROP TABLE users_user; DROP TABLE "user" CASCADE');
    const refused = await run(none.source, none.target).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(OriginalSchemaError);
    expect((refused as Error).message).toContain('table public.users_user or public.user or public.users');
    expect((await none.target.query('SELECT count(*)::int AS n FROM users')).rows[0].n).toBe(0);
  });

  it('reads Sequelize’s camelCase timestamps as well as the original’s snake_case ones, to the same result', async () => {
    const snake = await setUp();
    await run(snake.source, snake.target);
    const camel = await setUp();
    for (const table of ['users_user', 'conversations', 'conversation_participants', 'messages']) {
      await camel.source.query(
        `ALTER TABLE ${table} RENAME created_at TO "createdAt"; ALTER TABLE ${table} RENAME updated_at TO "updatedAt"; ALTER TABLE ${table} RENAME deleted_at TO "deletedAt"`,
      );
    }
    await run(camel.source, camel.target);
    const volatile = ['password', 'imported_at'];
    expect(await dumpImported(camel.target, volatile)).toEqual(await dumpImported(snake.target, volatile));
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
    expect((await target.query('SELECT kind, created_by FROM conversations WHERE id = $1', [moved])).rows[0]).toEqual({ kind: 'group', created_by: U.ann });
    const counts = await target.query('SELECT conversation_id, count(*)::int AS n FROM messages WHERE conversation_id IN ($1, $2) GROUP BY 1', [
      C.group,
      moved,
    ]);
    expect(counts.rows).toEqual([{ conversation_id: moved, n: ORIGINAL.groupMessages }]);
  });

  it('docs/MIGRATING.md’s table of report reasons lists every reason code and no other', () => {
    const doc = readFileSync(path.resolve(import.meta.dirname, '../../docs/MIGRATING.md'), 'utf8');
    const table = doc.slice(doc.indexOf('| code | table | outcome |'));
    const rows = table.slice(0, table.indexOf('\n\n')).split('\n').slice(2);
    const documented = new Set(rows.flatMap((row) => [...row.split('|')[1]!.matchAll(/`([A-Z_]+)`/g)].map((m) => m[1]!)));
    expect([...documented].sort()).toEqual(Object.keys(REASONS).sort());
  });
});
