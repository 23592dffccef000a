import pg from 'pg';
import { freePort } from '../lib/ports.js';
import { seed } from '../lib/seed.js';
import type { Measured, Metric } from '../lib/yardstick.js';
import { freshCheckpointedDatabase, withServer, type BenchContext } from './context.js';

const METRICS: Metric[] = [
  { key: 'p50', label: 'GET /conversations p50 ms', digits: 2, better: 'lower', target: 2 },
  { key: 'p95', label: 'p95 ms', digits: 2, better: 'lower' },
  { key: 'historyPageP50', label: 'history page p50 ms', digits: 2, better: 'lower' },
  { key: 'unread', label: 'unread shown', digits: 0, better: 'lower', absoluteOnly: true },
];

const CONVERSATIONS = 21;

const percentile = (samples: readonly number[], p: number): number => {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
};
const REQUESTS = 60;

/** Sequential requests (after a few unmeasured ones): latencies in ms. */
async function timed(url: string, token: string): Promise<{ latencies: number[]; body: any }> {
  let body: any;
  const latencies: number[] = [];
  for (let i = 0; i < REQUESTS + 5; i++) {
    const started = performance.now();
    const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    body = await res.json();
    if (res.status !== 200) throw new Error(`${url} answered ${res.status}: ${JSON.stringify(body)}`);
    if (i >= 5) latencies.push(performance.now() - started);
  }
  return { latencies, body };
}

/**
 * Scenario 6: the conversation list of a user in 21 conversations, with no
 * messages, then with 100,000 and 1,000,000 unread messages in one of them
 * (one server, one database, the history added between readings). Its
 * yardstick is the same list with no history: a cost that grows with history
 * shows as a ratio above 1.
 */
export async function unread(ctx: BenchContext): Promise<void> {
  const url = await freshCheckpointedDatabase(ctx, 'unread');
  const data = await seed(url, { users: CONVERSATIONS + 1 });
  const [reader, ...others] = data.users;
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  try {
    const { rows } = await db.query<{ id: number }>(
      `INSERT INTO conversations (kind, created_by, direct_key)
       SELECT 'direct', $1, least($1, o) || ':' || greatest($1, o) FROM unnest($2::int[]) o RETURNING id`,
      [reader!.id, others.map((o) => o.id)],
    );
    await db.query(
      'INSERT INTO conversation_participants (conversation_id, user_id) SELECT c, u FROM unnest($1::int[], $2::int[]) AS t(c, o), LATERAL (VALUES ($3::int), (o)) AS p(u)',
      [rows.map((r) => r.id), others.map((o) => o.id), reader!.id],
    );
    const busy = rows[0]!.id;
    const sender = others[0]!.id;
    const port = await freePort();
    const measured: Measured[] = [];
    await withServer(ctx, { DATABASE_URL: url, PORT: String(port), TRANSPORT: 'uws' }, async () => {
      const base = `http://127.0.0.1:${port}`;
      let inserted = 0;
      for (const total of [0, 100_000, 1_000_000]) {
        if (total > inserted) {
          await db.query(
            `INSERT INTO messages (conversation_id, sender_id, content, type, created_at, updated_at)
             SELECT $1, $2, 'unread ' || g, 'text', now(), now() FROM generate_series(1, $3::int) g`,
            [busy, sender, total - inserted],
          );
          inserted = total;
          await db.query('VACUUM ANALYZE messages');
        }
        const list = await timed(`${base}/conversations?limit=50`, reader!.token);
        const page = await timed(`${base}/conversations/${busy}/messages?limit=50`, reader!.token);
        const shown = list.body.conversations.find((c: { id: number }) => c.id === busy)?.unread_count ?? NaN;
        measured.push({
          label: total === 0 ? 'no messages' : `${total.toLocaleString('en-US')} unread in one conversation`,
          figures: { p50: percentile(list.latencies, 50), p95: percentile(list.latencies, 95), historyPageP50: percentile(page.latencies, 50), unread: shown },
        });
        console.log(`  unread: ${measured.at(-1)!.label}: GET /conversations p50 ${measured.at(-1)!.figures.p50!.toFixed(2)} ms, unread shown ${shown}`);
      }
    });
    ctx.comparisons.push({
      scenario: '6 conversation list against history',
      description:
        `GET /conversations for a user in ${CONVERSATIONS} conversations, ${REQUESTS} sequential requests per reading, with no messages and then with ` +
        'unread messages added to one conversation; the yardstick is the same request with no history (target: within 2 ×). Unread counts stop at 100 ("99+").',
      metrics: METRICS,
      floor: measured[0]!,
      subjects: measured.slice(1),
    });
  } finally {
    await db.end();
  }
}
