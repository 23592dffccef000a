import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { JwtTokenService } from '../../src/adapters/security/jwt-token-service.js';
import { createSequelize } from '../../src/adapters/sequelize/database.js';
import { migrate } from '../../src/adapters/sequelize/migrator.js';
import type { Logger } from '../../src/application/ports/services.js';

const noop = () => undefined;
export const quiet: Logger = { debug: noop, info: noop, warn: noop, error: noop, child: () => quiet };

export const BENCH_SECRET = 'bench-secret-bench-secret-bench-secret-0001';
const tokens = new JwtTokenService({ secret: BENCH_SECRET, ttlSeconds: 6 * 3600, clock: { now: () => new Date() } });

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
    const seeded: SeededUser[] = users.rows.map((r) => ({ id: r.id, token: tokens.issue(r.id).token }));
    const pairs: Array<{ conversationId: number; a: SeededUser; b: SeededUser }> = [];
    for (let i = 0; i < (spec.pairs ?? 0); i++) {
      const [a, b] = [seeded[2 * i]!, seeded[2 * i + 1]!];
      const c = await db.query<{ id: number }>(
        `INSERT INTO conversations (kind, created_by, direct_key) VALUES ('direct', $1, $2) RETURNING id`,
        [a.id, `${Math.min(a.id, b.id)}:${Math.max(a.id, b.id)}`],
      );
      await db.query('INSERT INTO conversation_participants (conversation_id, user_id) VALUES ($1, $2), ($1, $3)', [c.rows[0]!.id, a.id, b.id]);
      pairs.push({ conversationId: c.rows[0]!.id, a, b });
    }
    const groups: Array<{ conversationId: number; members: SeededUser[] }> = [];
    let offset = 0;
    for (const size of spec.groups ?? []) {
      const members = seeded.slice(offset, offset + size);
      offset += size;
      const c = await db.query<{ id: number }>(`INSERT INTO conversations (kind, title, created_by) VALUES ('group', 'bench', $1) RETURNING id`, [members[0]!.id]);
      await db.query('INSERT INTO conversation_participants (conversation_id, user_id) SELECT $1, unnest($2::int[])', [c.rows[0]!.id, members.map((m) => m.id)]);
      groups.push({ conversationId: c.rows[0]!.id, members });
    }
    return { users: seeded, pairs, groups };
  } finally {
    await db.end();
  }
}
