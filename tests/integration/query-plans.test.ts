import pg from 'pg';
import type { Sequelize } from 'sequelize';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageWriter } from '../../src/adapters/postgres/write-path/message-writer.js';
import { ensureLanes } from '../../src/adapters/postgres/write-path/write-lanes.js';
import { createSequelize } from '../../src/adapters/postgres/database.js';
import { SequelizeConversationRepository } from '../../src/adapters/postgres/repositories/sequelize-conversation-repository.js';
import { SequelizeMessageRepository } from '../../src/adapters/postgres/repositories/sequelize-message-repository.js';
import { createPgPool } from '../../src/adapters/postgres/pool.js';
import type { MessageDraft } from '../../src/domain/message.js';
import { migratedDatabase } from '../support/database.js';
import { silentLogger } from '../support/silent-logger.js';

/**
 * The skew that made the planner scan: one conversation with 1,000,000 unread
 * messages, twenty without any, fresh statistics. Every query whose cost could
 * follow history runs here as the application runs it (its own SQL, through its
 * own adapter), and PostgreSQL's auto_explain hands back the plan each
 * statement ran with, nested ones (the duplicate guard's function) included.
 * Each is run past the fifth time, where cached plans may turn generic.
 * auto_explain is loaded per session, which takes a superuser (the embedded
 * PostgreSQL's user is one).
 */
const HISTORY = 1_000_000;
const EMPTY = 20;
const RUNS = 7;

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Index Cond'?: string;
  Plans?: PlanNode[];
}
interface LoggedPlan {
  readonly query: string;
  readonly plan: PlanNode;
}
interface MessagesScan {
  readonly query: string;
  readonly node: string;
  readonly index: string | null;
  readonly cond: string | null;
}

let base: { url: string; sequelize: Sequelize };
let sequelize: Sequelize;
let pool: pg.Pool;
const logged: LoggedPlan[] = [];
let reader: number;
let sender: number;
let busy: number;
let empty: number[];

const record = (notice: { message?: string }) => {
  const text = notice.message ?? '';
  const json = text.indexOf('{');
  if (!text.includes('plan:') || json < 0) return;
  const entry = JSON.parse(text.slice(json)) as { 'Query Text': string; Plan: PlanNode };
  logged.push({ query: entry['Query Text'], plan: entry.Plan });
};

beforeAll(async () => {
  base = await migratedDatabase('plans');
  const db = new pg.Client({ connectionString: base.url });
  await db.connect();
  try {
    const users = await db.query<{ id: number }>(
      `INSERT INTO users (email, username, password) SELECT 'plan' || g || '@x.io', 'plan' || g, 'h' FROM generate_series(0, $1::int) g RETURNING id`,
      [EMPTY + 1],
    );
    const [me, ...others] = users.rows.map((r) => r.id);
    reader = me!;
    sender = others[0]!;
    const conversations = await db.query<{ id: number }>(
      `INSERT INTO conversations (kind, created_by, direct_key) SELECT 'direct', $1, least($1, o) || ':' || greatest($1, o) FROM unnest($2::int[]) o RETURNING id`,
      [reader, others],
    );
    const ids = conversations.rows.map((r) => r.id);
    [busy, ...empty] = ids as [number, ...number[]];
    await db.query(
      'INSERT INTO conversation_participants (conversation_id, user_id) SELECT c, u FROM unnest($1::int[], $2::int[]) AS t(c, o), LATERAL (VALUES ($3::int), (o)) AS p(u)',
      [ids, others, reader],
    );
    await db.query(
      `INSERT INTO messages (conversation_id, sender_id, content, created_at, updated_at)
       SELECT $1, $2, 'unread ' || g, now() - interval '1 hour', now() - interval '1 hour' FROM generate_series(1, $3::int) g`,
      [busy, sender, HISTORY],
    );
    await db.query('ANALYZE');
    const database = new URL(base.url).pathname.slice(1);
    // New sessions of this database log every plan they run, nested statements too, to the client (as a
    // warning: Sequelize's sessions drop notices).
    await db.query(`ALTER DATABASE ${database} SET session_preload_libraries = 'auto_explain'`);
    for (const [name, value] of Object.entries({ log_min_duration: '0', log_level: 'warning', log_nested_statements: 'on', log_format: 'json' })) {
      await db.query(`ALTER DATABASE ${database} SET auto_explain.${name} = '${value}'`);
    }
    // A plan that reads the history takes seconds here (indexed ones take milliseconds): fail it at once.
    await db.query(`ALTER DATABASE ${database} SET statement_timeout = '5s'`);
  } finally {
    await db.end();
  }
  sequelize = createSequelize({ url: base.url, logger: silentLogger, poolMax: 1 });
  sequelize.addHook('afterConnect', (connection) => void (connection as pg.Client).on('notice', record));
  pool = createPgPool({ url: base.url, applicationName: 'plans', max: 1 });
  pool.on('connect', (client) => void client.on('notice', record));
  await ensureLanes(pool, 1, async () => 0);
}, 180_000);

afterAll(async () => {
  await pool?.end();
  await sequelize?.close();
  await base?.sequelize.close();
});

const nodes = (plan: PlanNode): PlanNode[] => [plan, ...(plan.Plans ?? []).flatMap(nodes)];

/** Every node that reads the messages table or one of its indexes. */
const messagesScans = (plans: readonly LoggedPlan[]): MessagesScan[] =>
  plans.flatMap(({ query, plan }) =>
    nodes(plan)
      .filter((n) => n['Node Type'] !== 'ModifyTable' && (n['Relation Name'] === 'messages' || (n['Index Name'] ?? '').startsWith('messages_')))
      .map((n) => ({ query: query.replace(/\s+/g, ' ').slice(0, 160), node: n['Node Type'], index: n['Index Name'] ?? null, cond: n['Index Cond'] ?? null })),
  );

/**
 * A scan whose cost is bounded by what it returns: the conversation index
 * entered at one conversation, the duplicate guard's index at one sender in
 * one conversation and one content's digest, or a lookup of given ids or client ids.
 */
const bounded = (s: MessagesScan): boolean =>
  (s.node === 'Index Scan' || s.node === 'Index Only Scan') &&
  ((s.index === 'messages_live_by_conversation' && /conversation_id >?= /.test(s.cond ?? '')) ||
    (s.index === 'messages_unkeyed_by_sender' && /sender_id >?= .*conversation_id >?= .*md5\(/.test(s.cond ?? '')) ||
    (s.index === 'messages_pkey' && /^\(id = /.test(s.cond ?? '')) ||
    s.index === 'messages_sender_conversation_client_id_unique');

/** Runs `work` RUNS times and returns the scans of messages in the plans it ran. */
async function scansOf(work: () => Promise<unknown>): Promise<MessagesScan[]> {
  const from = logged.length;
  for (let i = 0; i < RUNS; i++) await work();
  return messagesScans(logged.slice(from));
}

const draft = (conversationId: number, content: string): MessageDraft => ({
  conversationId,
  senderId: sender,
  senderUsername: 'plan1',
  content,
  type: 'text',
  attachment: null,
  clientId: null,
  createdAt: new Date(),
});

describe(`plans with ${HISTORY.toLocaleString('en-US')} messages in one conversation and none in ${EMPTY} others`, () => {
  it('the conversation list reads latest message and unread count through the conversation index, for every conversation', async () => {
    const conversations = new SequelizeConversationRepository(sequelize);
    const page = await conversations.listForUser(reader, { limit: 50 });
    expect(page.conversations.find((c) => c.conversation.id === busy)?.unreadCount).toBe(100);
    const scans = await scansOf(() => conversations.listForUser(reader, { limit: 50 }));
    expect(scans.filter((s) => !bounded(s))).toEqual([]);
    // Per run: the latest message (for the order), its row by id, the unread count.
    expect(scans.filter((s) => s.index === 'messages_live_by_conversation')).toHaveLength(2 * RUNS);
  });

  it('history pages (newest, before, after), catch-up and read markers read the conversation index', async () => {
    const messages = new SequelizeMessageRepository(sequelize);
    const newest = await messages.page(busy, { limit: 50 });
    const middle = newest.messages[0]!.id - HISTORY / 2;
    const scans = [
      ...(await scansOf(() => messages.page(busy, { limit: 50 }))),
      ...(await scansOf(() => messages.page(busy, { before: middle, limit: 50 }))),
      ...(await scansOf(() => messages.page(busy, { after: middle, limit: 50 }))),
      ...(await scansOf(() => messages.page(empty[0]!, { after: 0, limit: 50 }))),
      ...(await scansOf(() => messages.newerThan([{ conversationIds: [busy, ...empty], afterId: middle }], 100))),
      ...(await scansOf(() => messages.markReadBetween(busy, reader, middle, middle + 10, new Date()))),
    ];
    expect(scans.filter((s) => !bounded(s))).toEqual([]);
    expect(scans.filter((s) => s.index === 'messages_live_by_conversation')).toHaveLength(6 * RUNS);
  });

  it('the duplicate guard looks up the sender’s recent messages through its index, in the busy conversation and in an empty one', async () => {
    const writer = new MessageWriter(pool, { lanes: 1, announce: null, logger: silentLogger });
    const guard = { duplicateWindowMs: 5_000 };
    let round = 0;
    const scans = await scansOf(async () => {
      round += 1;
      for (const conversationId of [busy, empty[1]!]) {
        const first = await writer.append(draft(conversationId, `guarded ${round}`), guard);
        const repeat = await writer.append(draft(conversationId, `guarded ${round}`), guard);
        expect([first.created, repeat.created, repeat.message?.id]).toEqual([true, false, first.message?.id]);
      }
    });
    expect(scans.filter((s) => !bounded(s))).toEqual([]);
    // Per run and conversation: the guard's lookup for each of the two sends.
    expect(scans.filter((s) => s.index === 'messages_unkeyed_by_sender')).toHaveLength(4 * RUNS);
  });
});
