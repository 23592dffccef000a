/**
 * Times the write path alone (no server, no clients) against fresh databases
 * on an embedded PostgreSQL, beside the floor's statement measured in the same
 * run: rows per second, and CPU per row in PostgreSQL and in this process.
 *
 *   npx tsx bench/probe-write.ts [--targets floor,one-lane,lanes,lanes-announce] [--lanes 4] [--rows 20000]
 *                                [--batch 500] [--sql statement.sql]
 *
 * To time another statement, add a target below, or pass `--sql FILE`: the
 * statement gets the messages table of the real schema and five arrays,
 * $1 conversation ids int[], $2 sender ids int[], $3 contents text[],
 * $4 created_at timestamptz[], $5 sender usernames text[], one batch in flight.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { startEmbeddedPostgres } from '../src/adapters/postgres/embedded/embedded-postgres-server.js';
import { MessageWriter } from '../src/adapters/postgres/write-path/message-writer.js';
import { ensureLanes } from '../src/adapters/postgres/write-path/write-lanes.js';
import { createPgPool } from '../src/adapters/postgres/pool.js';
import { FLOOR_SCHEMA, floorInsert } from './floor/floor-sql.js';
import { CpuMeter, postmasterPid } from './lib/process-stats.js';
import { freshDatabase, quiet, seed } from './lib/seed.js';
import { fmt } from './lib/yardstick.js';
import { encodeMessageChunks } from '../src/adapters/fanout/engine/notification-codec.js';

const { values: args } = parseArgs({
  options: {
    targets: { type: 'string', default: 'floor,one-lane,lanes,lanes-announce' },
    lanes: { type: 'string', default: '4' },
    rows: { type: 'string', default: '20000' },
    batch: { type: 'string', default: process.env.BATCH ?? '500' },
    sql: { type: 'string' },
  },
});
const total = Number(args.rows);
const batchSize = Number(args.batch);

interface Row {
  readonly conversationId: number;
  readonly senderId: number;
  readonly content: string;
  readonly createdAt: Date;
}

/** What is timed: `write` stores every row and resolves once all are committed. */
interface Target {
  readonly describe: string;
  open(url: string): Promise<{ write(rows: Row[]): Promise<void>; close(): Promise<void> }>;
}

/** Any statement over the five arrays, one batch in flight, through pg. */
const statement = (describe: string, sql: string, setup?: string): Target => ({
  describe,
  open: async (url) => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    if (setup) await client.query(setup);
    return {
      write: async (rows) => {
        for (let i = 0; i < rows.length; i += batchSize) {
          const b = rows.slice(i, i + batchSize);
          await client.query({
            name: 'probe',
            text: sql,
            values: [b.map((r) => r.conversationId), b.map((r) => r.senderId), b.map((r) => r.content), b.map((r) => r.createdAt), b.map(() => 'probe')].slice(
              0,
              countParams(sql),
            ),
          });
        }
      },
      close: () => client.end(),
    };
  },
});

/** pg refuses more values than the statement has parameters. */
const countParams = (sql: string) => Math.max(0, ...[...sql.matchAll(/\$(\d+)/g)].map((m) => Number(m[1])));

/** The server's write path (MessageWriter), with its lanes and group commit, as the server uses it. */
const writer = (describe: string, lanes: number, announce: boolean): Target => ({
  describe,
  open: async (url) => {
    const pool = createPgPool({ url, max: lanes + 2, applicationName: 'probe' });
    await pool.query('DELETE FROM write_lanes');
    await ensureLanes(pool, lanes, async () => 0);
    const w = new MessageWriter(pool, {
      lanes,
      announce: announce ? { channel: 'chat_fanout', encode: (lane, drafts) => encodeMessageChunks('probe', lane, drafts) } : null,
      maxBatchSize: batchSize,
      maxQueued: 10_000_000,
      logger: quiet,
    });
    return {
      write: async (rows) => {
        await Promise.all(
          rows.map((r) =>
            w.append({
              conversationId: r.conversationId,
              senderId: r.senderId,
              senderUsername: 'probe',
              content: r.content,
              type: 'text',
              attachment: null,
              clientId: null,
              createdAt: r.createdAt,
            }),
          ),
        );
      },
      close: () => pool.end(),
    };
  },
});

const lanes = Number(args.lanes);
const TARGETS: Record<string, Target> = {
  floor: statement("the floor's statement (bench/floor/floor-sql.ts, with its advisory lock)", floorInsert(true), FLOOR_SCHEMA),
  'one-lane': writer("the server's write path with one lane, no announcement", 1, false),
  lanes: writer(`the server's write path with ${lanes} lanes, no announcement`, lanes, false),
  'lanes-announce': writer(`the server's write path with ${lanes} lanes, announcing each batch with NOTIFY`, lanes, true),
  ...(args.sql ? { sql: statement(`--sql ${args.sql}`, readFileSync(args.sql, 'utf8')) } : {}),
};
const names = args.targets!.split(',').filter(Boolean);
if (args.sql && !names.includes('sql')) names.push('sql');
const unknown = names.filter((n) => !TARGETS[n]);
if (unknown.length) throw new Error(`Unknown target(s) ${unknown.join(', ')}; known: ${Object.keys(TARGETS).join(', ')}`);

const dir = mkdtempSync(path.join(os.tmpdir(), 'probe-'));
chmodSync(dir, 0o711);
const db = await startEmbeddedPostgres({ dataDir: dir, logger: quiet });
try {
  const postgres = await postmasterPid(db.url);
  const results: Array<{ name: string; rowsPerSecond: number; postgresUsPerRow: number; clientUsPerRow: number }> = [];
  for (const name of names) {
    const url = await freshDatabase(db.url, `probe_${name.replace(/\W/g, '_')}`);
    const data = await seed(url, { users: 1000, pairs: 500 });
    const rows = (n: number, tag: string): Row[] =>
      Array.from({ length: n }, (_, i) => {
        const p = data.pairs[i % data.pairs.length]!;
        return { conversationId: p.conversationId, senderId: p.a.id, content: `${tag} ${i} ${'x'.repeat(64)}`, createdAt: new Date() };
      });
    const target = await TARGETS[name]!.open(url);
    try {
      await target.write(rows(2 * batchSize, 'warm-up'));
      const measured = rows(total, 'probe');
      const pgCpu = postgres === null ? null : new CpuMeter(() => [postgres]);
      const clientCpu = process.cpuUsage();
      pgCpu?.begin();
      const started = performance.now();
      await target.write(measured);
      const seconds = (performance.now() - started) / 1000;
      const pgSeconds = pgCpu ? pgCpu.end() : NaN;
      const client = process.cpuUsage(clientCpu);
      results.push({
        name,
        rowsPerSecond: total / seconds,
        postgresUsPerRow: (pgSeconds * 1e6) / total,
        clientUsPerRow: (client.user + client.system) / total,
      });
      console.log(`${name}: ${TARGETS[name]!.describe}: ${Math.round(total / seconds)} rows/s`);
    } finally {
      await target.close();
    }
  }
  const floor = results.find((r) => r.name === 'floor');
  console.log(`\n${total} rows in batches of ${batchSize}, one batch in flight, synchronous_commit on\n`);
  console.log('| target | rows/s | PG µs/row | this process µs/row | rows/s × floor | PG µs/row × floor |');
  console.log('|---|---|---|---|---|---|');
  for (const r of results) {
    console.log(
      `| ${r.name} | ${fmt(r.rowsPerSecond)} | ${fmt(r.postgresUsPerRow, 1)} | ${fmt(r.clientUsPerRow, 1)} | ${floor ? fmt(r.rowsPerSecond / floor.rowsPerSecond, 2) : '–'} | ${floor ? fmt(r.postgresUsPerRow / floor.postgresUsPerRow, 2) : '–'} |`,
    );
  }
} finally {
  await db.stop();
  rmSync(dir, { recursive: true, force: true });
}
