import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSequelize, ensureSchema } from '../../src/adapters/postgres/database.js';
import { migrate } from '../../src/adapters/postgres/migrator.js';
import { freshDatabase } from '../support/database.js';
import { HttpClient } from '../support/http-client.js';
import { fillOriginal, ORIGINAL, PASSWORDS } from '../support/original-backend.js';
import { originalDbEnv } from '../support/original-env.js';
import { killAll, startProcess, TEST_JWT_SECRET, type ServerProcess } from '../support/server-process.js';
import { silentLogger } from '../support/silent-logger.js';
import { connectSocketIo, emitWithAnswer, nextEvent } from '../support/socket-io-client.js';
import { dumpImported } from '../support/table-dump.js';

const root = path.resolve(import.meta.dirname, '../..');
const cli = path.join(root, 'src/bootstrap/import-legacy-cli.ts');
const SCHEMA = 'chat';
const FRONTEND = 'https://app.example.com';

let databaseUrl: string;
let filled: Awaited<ReturnType<typeof fillOriginal>>;
/** The original's .env, unchanged but for DB_SCHEMA: this server's tables go beside the original's, in their own schema. */
let originalEnv: Record<string, string>;
let db: pg.Client;
let dataDir: string;
const children: ChildProcess[] = [];
const sockets: Socket[] = [];
const clients: pg.Client[] = [];

beforeAll(async () => {
  databaseUrl = await freshDatabase('cutover');
  filled = await fillOriginal(databaseUrl);
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'chat-cutover-'));
  originalEnv = {
    ...originalDbEnv(databaseUrl, SCHEMA),
    PORT: '0',
    HOST: '127.0.0.1',
    FRONTEND_URL: FRONTEND,
    BASE_URL: 'https://api.example.com',
    DJANGO_API_URL: 'http://django.internal:8000',
    JWT_SECRET: TEST_JWT_SECRET,
    DATA_DIR: dataDir,
  };
  db = new pg.Client({ connectionString: databaseUrl, options: `-c search_path=${SCHEMA}` });
  await db.connect();
  clients.push(db);
  // Another tool's migration history in public: the server must keep its own in its schema.
  await db.query('CREATE TABLE public.schema_migrations (name varchar(255) PRIMARY KEY)');
});

afterAll(async () => {
  for (const s of sockets) s.disconnect();
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  killAll();
  for (const c of clients) await c.end().catch(() => undefined);
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

/** `npm run import:legacy -- <original> ...` as its own process, configured by the original's .env. */
function runImport(args: string[], source = databaseUrl) {
  const child = spawn(process.execPath, ['--import', 'tsx', cli, source, ...args], {
    cwd: root,
    env: { ...process.env, NODE_ENV: 'test', LOG_LEVEL: 'info', ...originalEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => {
    output += d;
    stderr += d;
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const report = async () => {
    const code = await exited;
    if (code !== 0) throw new Error(`import exited ${code}: ${output.slice(-2000)}`);
    const line = output.split('\n').find((l) => l.includes('"import complete"'));
    return JSON.parse(line!).report as {
      users: { imported: number };
      conversations: { imported: number };
      participants: { imported: number };
      messages: { imported: number; alreadyThere: number; skipped: number };
      readMarkersSet: number;
    };
  };
  return { child, output: () => output, stderr: () => stderr, exited, report };
}

const waitUntil = async (check: () => Promise<boolean> | boolean, what: string, timeoutMs = 30_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
};
const count = async (sql: string) => Number((await db.query<{ n: string }>(sql)).rows[0]!.n);
const importerConnections = () => count(`SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = 'chat-legacy-import'`);

describe('moving from the original backend', () => {
  it('imports, is interrupted part-way, completes on the next run, and a third run changes nothing', async () => {
    // This server's schema, so a transaction can hold one map row: the import blocks on it in the middle of the messages.
    const sequelize = createSequelize({ url: databaseUrl, schema: SCHEMA, poolMax: 2, logger: silentLogger });
    await ensureSchema(sequelize, SCHEMA);
    await migrate(sequelize, silentLogger);
    await sequelize.close();
    const blocker = new pg.Client({ connectionString: databaseUrl, options: `-c search_path=${SCHEMA}` });
    await blocker.connect();
    clients.push(blocker);
    await blocker.query('BEGIN');
    await blocker.query(`INSERT INTO legacy_id_map (entity, legacy_id, new_id) VALUES ('messages', 70, 70)`);

    const first = runImport(['--batch-size', '10']);
    await waitUntil(() => first.output().includes('"table":"messages","batch":6,'), 'six message batches are in');
    await waitUntil(
      async () => (await count(`SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = 'chat-legacy-import' AND wait_event_type = 'Lock'`)) === 1,
      'the import waits on the held row',
    );
    first.child.kill('SIGKILL');
    await first.exited;
    await blocker.query('ROLLBACK');
    await waitUntil(async () => (await importerConnections()) === 0, 'the killed import’s session is gone');

    // Part-way: the users, conversations, participants and six batches of messages, each with its record, and nothing else.
    expect(await count(`SELECT count(*) AS n FROM users`)).toBe(7);
    expect(await count(`SELECT count(*) AS n FROM messages`)).toBe(60);
    expect(await count(`SELECT count(*) AS n FROM legacy_id_map WHERE entity = 'messages'`)).toBe(60);
    expect(
      await count(`SELECT count(*) AS n FROM messages m WHERE NOT EXISTS (SELECT 1 FROM legacy_id_map l WHERE l.entity = 'messages' AND l.new_id = m.id)`),
    ).toBe(0);

    const secondRun = runImport(['--batch-size', '10']);
    const second = await secondRun.report();
    expect(second.messages).toMatchObject({ imported: filled.messages - 60, alreadyThere: 60 });
    // The readable summary, on stderr: per table, and the reasons with their first ids.
    expect(secondRun.stderr()).toContain('users (from users_user): 0 imported, 7 already present, 0 skipped');
    expect(secondRun.stderr()).toContain(`messages (from messages): ${filled.messages - 60} imported, 60 already present, 1 skipped`);
    expect(secondRun.stderr()).toMatch(
      new RegExp(`skipped 1: its sender is not in the users table read \\[SENDER_NOT_IMPORTED\\] \\(${filled.ghostMessageId}\\)`),
    );
    expect(second.users.imported).toBe(0);
    expect(await count(`SELECT count(*) AS n FROM messages`)).toBe(filled.messages);
    expect(await count(`SELECT count(DISTINCT id) AS n FROM messages`)).toBe(filled.messages);

    const before = await dumpImported(db);
    const third = await runImport([]).report();
    expect([third.users.imported, third.conversations.imported, third.participants.imported, third.messages.imported, third.readMarkersSet]).toEqual([
      0, 0, 0, 0, 0,
    ]);
    expect(await dumpImported(db)).toEqual(before);
  }, 120_000);

  describe('an original database that cannot be read: one line naming it and why, exit code 1, nothing started', () => {
    const closedPort = async () => {
      const probe = net.createServer();
      await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
      const { port } = probe.address() as net.AddressInfo;
      await new Promise((resolve) => probe.close(resolve));
      return port;
    };
    const failed = async (source: string) => {
      const run = runImport([], source);
      const code = await run.exited;
      return { code, stderr: run.stderr(), output: run.output() };
    };
    const urlWith = (change: (u: URL) => void) => {
      const u = new URL(databaseUrl);
      change(u);
      return u.toString();
    };
    const oneLine = (stderr: string) => {
      expect(stderr.endsWith('\n')).toBe(true);
      expect(stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(stderr).not.toMatch(/^\s+at /m);
    };

    it('nothing listening: the host, port and database, "connection refused", never the password', async () => {
      const port = await closedPort();
      const run = await failed(`postgres://chat:very-secret-pw@127.0.0.1:${port}/olddb`);
      expect(run.code).toBe(1);
      oneLine(run.stderr);
      expect(run.stderr).toBe(
        `Cannot connect to the original database at 127.0.0.1:${port}, database "olddb": connection refused, nothing listens on that port (ECONNREFUSED)\n`,
      );
      expect(run.output).not.toContain('very-secret-pw');
    });

    it('a wrong password or database name: PostgreSQL’s reason, never the password', async () => {
      const { hostname, port } = new URL(databaseUrl);
      const badPassword = await failed(urlWith((u) => (u.password = 'not-the-password-42')));
      expect(badPassword.code).toBe(1);
      oneLine(badPassword.stderr);
      expect(badPassword.stderr).toMatch(
        new RegExp(
          `^Cannot connect to the original database at ${hostname}:${port}, database "cutover_\\w+": password authentication failed: .* \\(28P01\\)\n$`,
        ),
      );
      expect(badPassword.output).not.toContain('not-the-password-42');

      const noDatabase = await failed(urlWith((u) => (u.pathname = '/no_such_original')));
      expect(noDatabase.code).toBe(1);
      oneLine(noDatabase.stderr);
      expect(noDatabase.stderr).toMatch(/^Cannot connect to the original database at .*, database "no_such_original": no such database: .* \(3D000\)\n$/);
    });

    it('a database without the original’s tables: every table it looked for, and the options that name others', async () => {
      const empty = await freshDatabase('not_original');
      const run = await failed(empty);
      expect(run.code).toBe(1);
      oneLine(run.stderr);
      expect(run.stderr).toMatch(
        /^The original database lacks what the import reads: table public\.users_user or public\.user or public\.users; table public\.conversations;/,
      );
      expect(run.stderr).toMatch(
        /database "not_original_\w+", schema public; other table names: --users-table, --conversations-table, --participants-table, --messages-table\)\n$/,
      );
    });
  });

  describe('the server on the imported database, started with the original’s .env', () => {
    let server: ServerProcess;
    let http: HttpClient;
    beforeAll(async () => {
      server = await startProcess(originalEnv);
      http = new HttpClient(`http://127.0.0.1:${server.port}`);
    });
    afterAll(async () => {
      server?.child.kill('SIGTERM');
      await server?.exited;
    });

    const logIn = async (username: string, password: string) => {
      const res = await http.post('/auth/login', { username, password });
      expect(res.status).toBe(200);
      return res.body as { user: { id: number }; token: string };
    };

    it('logs users in with their original (Django) passwords from users_user, under a changed name too, and upgrades the stored hash', async () => {
      const ann = await logIn('ann', PASSWORDS.ann);
      expect(ann.user.id).toBe(ORIGINAL.users.ann);
      expect((await http.post('/auth/login', { email: 'ANN@example.com', password: PASSWORDS.ann })).status).toBe(200);
      expect((await http.post('/auth/login', { username: 'ann', password: 'not it' })).status).toBe(401);
      const stored = await db.query('SELECT password FROM users WHERE id = $1', [ORIGINAL.users.ann]);
      expect(stored.rows[0].password).toMatch(/^\$argon2id\$/);
      expect((await http.get('/users/me', ann.token)).body).toMatchObject({ id: ORIGINAL.users.ann, username: 'ann', role: 'landlord' });
      // Renamed (its name differed from ben's only in case), and role `staff` in the original: tenant, and no staff rights from the label.
      const bigBen = await logIn(`Ben_${ORIGINAL.users.Ben}`, 'other ben');
      expect((await http.get('/users/me', bigBen.token)).body).toMatchObject({ id: ORIGINAL.users.Ben, role: 'tenant', is_staff: false });
    });

    it('serves the original client’s Socket.IO flow unchanged but for the token', async () => {
      const [ann, ben] = [await logIn('ann', PASSWORDS.ann), await logIn('ben', PASSWORDS.ben)];
      const base = `http://127.0.0.1:${server.port}`;
      const [annSocket, benSocket] = await Promise.all([connectSocketIo(base, ann.token), connectSocketIo(base, ben.token)]);
      sockets.push(annSocket, benSocket);

      // The conversation ids the clients know still name the same conversations, read markers included.
      const list = (await http.get('/conversations', ann.token)).body.conversations as Array<{ id: number; kind: string; unread_count: number }>;
      expect(list.find((c) => c.id === ORIGINAL.conversations.direct)).toMatchObject({ kind: 'direct', unread_count: 3 });

      const pushed = nextEvent(benSocket, 'receiveMessage', (m) => m.content === 'hello from the old app');
      const answer = await emitWithAnswer(annSocket, 'sendMessage', {
        conversation_id: ORIGINAL.conversations.direct,
        content: 'hello from the old app',
        type: 'text',
      });
      expect(answer).toMatchObject({
        success: true,
        message: { conversation: ORIGINAL.conversations.direct, sender: { id: ORIGINAL.users.ann, username: 'ann' }, content: 'hello from the old app' },
      });
      expect(answer.message.id).toBeGreaterThan(filled.lastMessageId);
      expect(await pushed).toEqual(answer.message);

      const photo = 'https://media.example.com/uploads/new.jpg';
      const media = nextEvent(annSocket, 'receiveMessage', (m) => m.content === photo);
      const sentMedia = await emitWithAnswer(benSocket, 'sendMessage', { conversation_id: ORIGINAL.conversations.direct, content: photo, type: 'image' });
      expect(sentMedia).toMatchObject({ success: true, message: { type: 'image', content: photo, attachment: { url: photo } } });
      expect(await media).toEqual(sentMedia.message);

      // The history: the original's messages (the merged chat's included, the deleted one not) and the new ones, in order.
      const history = (await http.get(`/conversations/${ORIGINAL.conversations.direct}/messages`, ben.token)).body.messages as Array<{ content: string }>;
      expect(history.map((m) => m.content)).toEqual([
        'hi ben',
        'hi ann',
        'https://media.example.com/uploads/kitchen.jpg',
        'in the second direct chat',
        'https://media.example.com/uploads/lease.pdf',
        'see attached',
        'hello from the old app',
        photo,
      ]);
    });

    it('answers the original frontend’s origin and no other', async () => {
      const preflight = (origin: string) =>
        fetch(`http://127.0.0.1:${server.port}/auth/login`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST' } });
      expect((await preflight(FRONTEND)).headers.get('access-control-allow-origin')).toBe(FRONTEND);
      expect((await preflight('https://elsewhere.example.com')).status).toBe(403);
    });
  });
});
