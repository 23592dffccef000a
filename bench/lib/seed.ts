import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { JoseTokenService } from '../../src/adapters/security/jose-token-service.js';
import { createSequelize } from '../../src/adapters/postgres/database.js';
import { migrate } from '../../src/adapters/postgres/migrator.js';
import type { Logger } from '../../src/application/ports/services.js';

const noop = () => undefined;
export const quiet: Logger = { debug: noop, info: noop, warn: noop, error: noop, child: () => quiet };

export const BENCH_SECRET = 'bench-secret-bench-secret-bench-secret-0001';
const tokens = new JoseTokenService({ secret: BENCH_SECRET, ttlSeconds: 6 * 3600, clock: { now: () => new Date() } });

/** A fresh, migrated database on the benchmark's PostgreSQL. */
export async function freshDatabase(baseUrl: string, prefix: string): Promise<string> {
  const url = new URL(baseUrl);
  const name = `bench_${prefix}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: url.toString() });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  url.pathname = `/${name}`;
  const sequelize = createSequelize({ url: url.toString(), logger: quiet, poolMax: 2 });
  await migrate(sequelize, quiet);
  await sequelize.close();
  return url.toString();
}

export interface SeededUser {
  readonly id: number;
  readonly token: string;
}

/** Users, direct conversations between consecutive pairs, and groups, written in bulk. */
export async function seed(url: string, spec: { users: number; pairs?: number; groups?: number[] }) {
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  try {
    const users = await db.query<{ id: number }>(
      `INSERT INTO users (email, username, password, role)
       SELECT 'b' || g || '@bench.local', 'bench' || g, 'not-a-login', 'tenant' FROM generate_series(1, $1) g RETURNING id`,
      [spec.users],
    );
    // A session each, as a login would have made, so tokens go through the same checks as real clients'.
    const sessionIds = users.rows.map(() => randomUUID());
    await db.query(
      `INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at)
       SELECT s, u, now(), now(), now() + interval '30 days' FROM unnest($1::uuid[], $2::int[]) AS t(s, u)`,
      [sessionIds, users.rows.map((r) => r.id)],
    );
    const seeded: SeededUser[] = await Promise.all(
      users.rows.map(async (r, i) => ({ id: r.id, token: (await tokens.issue({ userId: r.id, sessionId: sessionIds[i]! })).token })),
    );
    const pairs: Array<{ conversationId: number; a: SeededUser; b: SeededUser }> = [];
    const count = spec.pairs ?? 0;
    if (count > 0) {
      const couples = Array.from({ length: count }, (_, i) => [seeded[2 * i]!, seeded[2 * i + 1]!] as const);
      const key = (a: SeededUser, b: SeededUser) => `${Math.min(a.id, b.id)}:${Math.max(a.id, b.id)}`;
      const created = await db.query<{ id: number; direct_key: string }>(
        `INSERT INTO conversations (kind, created_by, direct_key) SELECT 'direct', a, k FROM unnest($1::int[], $2::varchar[]) AS p(a, k) RETURNING id, direct_key`,
        [couples.map(([a]) => a.id), couples.map(([a, b]) => key(a, b))],
      );
      const byKey = new Map(created.rows.map((r) => [r.direct_key, r.id]));
      for (const [a, b] of couples) pairs.push({ conversationId: byKey.get(key(a, b))!, a, b });
      await db.query('INSERT INTO conversation_participants (conversation_id, user_id) SELECT * FROM unnest($1::int[], $2::int[])', [
        pairs.flatMap((p) => [p.conversationId, p.conversationId]),
        pairs.flatMap((p) => [p.a.id, p.b.id]),
      ]);
    }
    const groups: Array<{ conversationId: number; members: SeededUser[] }> = [];
    let offset = 0;
    for (const size of spec.groups ?? []) {
      const members = seeded.slice(offset, offset + size);
      offset += size;
      const c = await db.query<{ id: number }>(`INSERT INTO conversations (kind, title, created_by) VALUES ('group', 'bench', $1) RETURNING id`, [
        members[0]!.id,
      ]);
      await db.query('INSERT INTO conversation_participants (conversation_id, user_id) SELECT $1, unnest($2::int[])', [
        c.rows[0]!.id,
        members.map((m) => m.id),
      ]);
      groups.push({ conversationId: c.rows[0]!.id, members });
    }
    return { users: seeded, pairs, groups };
  } finally {
    await db.end();
  }
}
