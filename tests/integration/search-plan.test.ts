import pg from 'pg';
import type { Sequelize } from 'sequelize';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSequelize } from '../../src/adapters/postgres/database.js';
import { PgMessageSearch } from '../../src/adapters/postgres/repositories/pg-message-search.js';
import { migratedDatabase } from '../support/database.js';
import { silentLogger } from '../support/silent-logger.js';

/**
 * A million messages in 2,000 conversations; the searcher takes part in 200
 * (100,000 messages), so a scan of the searcher's conversations is costlier
 * than the GIN index for a rare word.
 * The search runs as the application runs it (its own SQL, through its own
 * adapter) and auto_explain hands back the plan it ran with, past the fifth
 * run, where cached plans may turn generic.
 */
const MESSAGES = 1_000_000;
const CONVERSATIONS = 2_000;
const RUNS = 7;

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}

let base: { url: string; sequelize: Sequelize };
let sequelize: Sequelize;
const plans: PlanNode[] = [];
let searcher: number;
let mine: number[];

const record = (notice: { message?: string }) => {
  const text = notice.message ?? '';
  const json = text.indexOf('{');
  if (!text.includes('plan:') || json < 0) return;
  const entry = JSON.parse(text.slice(json)) as { 'Query Text': string; Plan: PlanNode };
  if (entry['Query Text'].includes('websearch_to_tsquery')) plans.push(entry.Plan);
};

const nodes = (plan: PlanNode): PlanNode[] => [plan, ...(plan.Plans ?? []).flatMap(nodes)];

beforeAll(async () => {
  base = await migratedDatabase('search_plan');
  const db = new pg.Client({ connectionString: base.url });
  await db.connect();
  try {
    const users = await db.query<{ id: number }>(
      `INSERT INTO users (email, username, password) SELECT 'search' || g || '@x.io', 'search' || g, 'h' FROM generate_series(1, 20) g RETURNING id`,
    );
    const ids = users.rows.map((r) => r.id);
    searcher = ids[0]!;
    const conversations = await db.query<{ id: number }>(
      `INSERT INTO conversations (kind, title, created_by) SELECT 'group', 'c' || g, $1 FROM generate_series(1, $2::int) g RETURNING id`,
      [ids[1], CONVERSATIONS],
    );
    const all = conversations.rows.map((r) => r.id).sort((a, b) => a - b);
    mine = all.slice(0, 200);
    // Everyone else is in every conversation; the searcher in 200.
    await db.query(
      `INSERT INTO conversation_participants (conversation_id, user_id) SELECT c, u FROM unnest($1::int[]) c, unnest($2::int[]) u
       UNION ALL SELECT c, $3 FROM unnest($4::int[]) c`,
      [all, ids.slice(1), searcher, mine],
    );
    // Built after the rows, as a restore would: a GIN index kept up row by row would make this take minutes.
    await db.query('DROP INDEX messages_search');
    await db.query(
      `INSERT INTO messages (conversation_id, sender_id, content)
       SELECT $1::int + g % $2::int, $3, 'word' || (g % 5000) || ' filler text ' || g || CASE WHEN g % 1000 = 0 THEN ' needle' ELSE '' END
       FROM generate_series(1, $4::int) g`,
      [all[0], CONVERSATIONS, ids[1], MESSAGES],
    );
    await db.query(`CREATE INDEX messages_search ON messages USING gin (conversation_id, to_tsvector('simple', content)) WHERE deleted_at IS NULL`);
    await db.query('ANALYZE');
    const database = new URL(base.url).pathname.slice(1);
    await db.query(`ALTER DATABASE ${database} SET session_preload_libraries = 'auto_explain'`);
    for (const [name, value] of Object.entries({ log_min_duration: '0', log_level: 'warning', log_format: 'json' })) {
      await db.query(`ALTER DATABASE ${database} SET auto_explain.${name} = '${value}'`);
    }
    // A scan of the table takes many seconds here (more on a loaded machine): fail it.
    await db.query(`ALTER DATABASE ${database} SET statement_timeout = '10s'`);
  } finally {
    await db.end();
  }
  sequelize = createSequelize({ url: base.url, logger: silentLogger, poolMax: 1 });
  sequelize.addHook('afterConnect', (connection) => void (connection as pg.Client).on('notice', record));
}, 300_000);

afterAll(async () => {
  await sequelize?.close();
  await base?.sequelize.close();
});

async function plansOf(text: string, runs = RUNS): Promise<PlanNode[]> {
  const search = new PgMessageSearch(sequelize);
  const from = plans.length;
  for (let i = 0; i < runs; i++) await search.search({ userId: searcher, text, limit: 20 });
  return plans.slice(from);
}

/** A nested loop whose outer side reads the searcher's participations by their index and whose inner side probes the search index. */
const startsFromParticipations = (plan: PlanNode): boolean =>
  nodes(plan).some(
    (n) =>
      n['Node Type'] === 'Nested Loop' &&
      nodes(n.Plans![0]!).some((o) => (o['Index Name'] ?? '').startsWith('conversation_participants_')) &&
      nodes(n.Plans![1]!).some((i) => i['Node Type'] === 'Bitmap Index Scan' && i['Index Name'] === 'messages_search'),
  );
const seqScansOfMessages = (plan: PlanNode) => nodes(plan).filter((n) => n['Node Type'] === 'Seq Scan' && n['Relation Name'] === 'messages');

describe(`search plans over ${MESSAGES.toLocaleString('en-US')} messages in ${CONVERSATIONS} conversations`, () => {
  it('finds a rare word from the searcher’s participations (their index), probing the GIN index per conversation (a bitmap scan), never a sequential scan of messages', async () => {
    const page = await new PgMessageSearch(sequelize).search({ userId: searcher, text: 'needle', limit: 20 });
    expect(page.hits.length).toBe(20);
    expect(page.hits.every((h) => mine.includes(h.message.conversationId))).toBe(true);
    const runs = await plansOf('needle');
    expect(runs).toHaveLength(RUNS);
    for (const plan of runs) {
      expect(seqScansOfMessages(plan)).toEqual([]);
      expect(startsFromParticipations(plan)).toBe(true);
    }
  });

  // Costlier: every one of the searcher's 100,000 messages matches (ranked are the newest 1,000 of them), so it runs twice, not past the fifth run.
  it('finds a word in every message the same way: the cost is the searcher’s conversations, not the table', async () => {
    const page = await new PgMessageSearch(sequelize).search({ userId: searcher, text: 'filler', limit: 20 });
    expect(page.hits.length).toBe(20);
    const runs = await plansOf('filler', 2);
    expect(runs).toHaveLength(2);
    for (const plan of runs) {
      expect(seqScansOfMessages(plan)).toEqual([]);
      expect(startsFromParticipations(plan)).toBe(true);
    }
  }, 120_000);
});
