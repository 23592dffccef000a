import type pg from 'pg';
import type { PresenceStatus, PresenceStore, PresenceTransition } from '../../../application/ports/presence-store.js';

export interface PgPresenceStoreOptions {
  /** This process's name. */
  readonly nodeId: string;
  /** How long a lease lasts without renewal. @default 20000 */
  readonly leaseMs?: number;
}

/** Per-user advisory locks (namespace, user id): one transition at a time per user, across processes. */
const PRESENCE_LOCK = 727_003;

type Row = Record<string, unknown>;

/**
 * Presence in PostgreSQL: `server_nodes` holds each process's lease,
 * `presence` a row per (user, process) with a connection. A user is online
 * while a row of theirs belongs to a live lease. Every change takes the users'
 * locks in id order, then decides who changed, in one transaction.
 */
export class PgPresenceStore implements PresenceStore {
  private readonly leaseMs: number;

  constructor(
    private readonly pool: pg.Pool,
    private readonly options: PgPresenceStoreOptions,
  ) {
    this.leaseMs = options.leaseMs ?? 20_000;
  }

  async arrive(userIds: readonly number[]): Promise<number[]> {
    return this.transaction(userIds, async (client, ids) => {
      await client.query(`INSERT INTO presence (user_id, node_id) SELECT unnest($1::int[]), $2 ON CONFLICT DO NOTHING`, [ids, this.options.nodeId]);
      // Online until now only if some other live process holds a row.
      const { rows } = await client.query<Row>(
        `SELECT u AS user_id FROM unnest($1::int[]) u
         WHERE NOT EXISTS (SELECT 1 FROM presence p JOIN server_nodes n USING (node_id)
                           WHERE p.user_id = u AND p.node_id <> $2 AND n.lease_expires_at > now())`,
        [ids, this.options.nodeId],
      );
      return rows.map((r) => Number(r.user_id));
    });
  }

  async leave(userIds: readonly number[], at: Date): Promise<PresenceTransition[]> {
    return this.transaction(userIds, async (client, ids) => {
      // Rows of expired leases go too: they would only delay this user's offline.
      await client.query(
        `DELETE FROM presence p WHERE p.user_id = ANY($1::int[])
           AND (p.node_id = $2 OR NOT EXISTS (SELECT 1 FROM server_nodes n WHERE n.node_id = p.node_id AND n.lease_expires_at > now()))`,
        [ids, this.options.nodeId],
      );
      return this.endIfGone(client, ids, at);
    });
  }

  async heartbeat(): Promise<PresenceTransition[]> {
    await this.pool.query(
      `INSERT INTO server_nodes (node_id, lease_expires_at) VALUES ($1, now() + $2::int * interval '1 millisecond')
       ON CONFLICT (node_id) DO UPDATE SET renewed_at = now(), lease_expires_at = excluded.lease_expires_at`,
      [this.options.nodeId, this.leaseMs],
    );
    // One process ends each expired lease: the DELETE hands its rows to exactly one caller.
    const { rows: ended } = await this.pool.query<Row>(
      `WITH dead AS (DELETE FROM server_nodes WHERE lease_expires_at < now() RETURNING node_id, renewed_at)
       DELETE FROM presence p USING dead WHERE p.node_id = dead.node_id RETURNING p.user_id, dead.renewed_at`,
    );
    if (ended.length === 0) return [];
    const lastSeen = new Map(ended.map((r) => [Number(r.user_id), r.renewed_at as Date]));
    const transitions: PresenceTransition[] = [];
    const byTime = new Map<number, number[]>();
    for (const [userId, at] of lastSeen) byTime.set(at.getTime(), [...(byTime.get(at.getTime()) ?? []), userId]);
    for (const [at, userIds] of byTime) {
      transitions.push(...(await this.transaction(userIds, (client, ids) => this.endIfGone(client, ids, new Date(at)))));
    }
    return transitions;
  }

  async statusOf(userIds: readonly number[]): Promise<Map<number, PresenceStatus>> {
    if (userIds.length === 0) return new Map();
    const { rows } = await this.pool.query<Row>(
      `SELECT u.id, u.last_seen_at,
              EXISTS (SELECT 1 FROM presence p JOIN server_nodes n USING (node_id)
                      WHERE p.user_id = u.id AND n.lease_expires_at > now()) AS online
       FROM users u WHERE u.id = ANY($1::int[])`,
      [userIds],
    );
    return new Map(rows.map((r) => [Number(r.id), { online: Boolean(r.online), lastSeenAt: (r.last_seen_at as Date | null) ?? null }]));
  }

  async close(graceMs: number): Promise<void> {
    await this.pool.query(`UPDATE server_nodes SET lease_expires_at = now() + $2::int * interval '1 millisecond' WHERE node_id = $1`, [
      this.options.nodeId,
      graceMs,
    ]);
  }

  /** Users (already locked) with no row of a live lease left are offline from `at`. */
  private async endIfGone(client: pg.PoolClient, ids: number[], at: Date): Promise<PresenceTransition[]> {
    const { rows } = await client.query<Row>(
      `UPDATE users u SET last_seen_at = $2
       WHERE u.id = ANY($1::int[])
         AND NOT EXISTS (SELECT 1 FROM presence p JOIN server_nodes n USING (node_id)
                         WHERE p.user_id = u.id AND n.lease_expires_at > now())
       RETURNING u.id`,
      [ids, at],
    );
    return rows.map((r) => ({ userId: Number(r.id), online: false, lastSeenAt: at }));
  }

  private async transaction<T>(userIds: readonly number[], work: (client: pg.PoolClient, ids: number[]) => Promise<T>): Promise<T> {
    const ids = [...new Set(userIds)].sort((a, b) => a - b);
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      // In id order (the array is sorted and unnest keeps its order), so two transactions never wait on each other in a cycle.
      await client.query('SELECT pg_advisory_xact_lock($1, u) FROM unnest($2::int[]) u', [PRESENCE_LOCK, ids]);
      const result = await work(client, ids);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }
}
