import pg from 'pg';

/**
 * What one database did, as PostgreSQL's cumulative statistics count it:
 * transactions, scans and row writes per table, and (when the cluster loads
 * pg_stat_statements) time per statement. Two readings bracket a window; the
 * difference, divided by the work done in it, says what that work cost the
 * database. Backends publish their counts about once a second, so read a
 * second or more after the window closes.
 */
export interface DbActivity {
  readonly transactions: number;
  readonly tables: Record<string, { scans: number; written: number }>;
  /** Null when pg_stat_statements is not loaded (the embedded cluster does not load it). */
  readonly statements: Record<string, { calls: number; ms: number }> | null;
}

export async function dbActivity(url: string): Promise<DbActivity> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const db = await client.query<{ n: string }>('SELECT xact_commit + xact_rollback AS n FROM pg_stat_database WHERE datname = current_database()');
    const t = await client.query<{ name: string; scans: string; written: string }>(
      `SELECT relname AS name, coalesce(seq_scan, 0) + coalesce(idx_scan, 0) AS scans, n_tup_ins + n_tup_upd + n_tup_del AS written FROM pg_stat_user_tables`,
    );
    let statements: DbActivity['statements'] = null;
    try {
      await client.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
      const s = await client.query<{ query: string; calls: string; ms: number }>(
        `SELECT left(regexp_replace(query, '\\s+', ' ', 'g'), 90) AS query, sum(calls) AS calls, sum(total_exec_time) AS ms
           FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) GROUP BY 1`,
      );
      statements = Object.fromEntries(s.rows.map((r) => [r.query, { calls: Number(r.calls), ms: Number(r.ms) }]));
    } catch {
      statements = null;
    }
    return {
      transactions: Number(db.rows[0]!.n),
      tables: Object.fromEntries(t.rows.map((r) => [r.name, { scans: Number(r.scans), written: Number(r.written) }])),
      statements,
    };
  } finally {
    await client.end();
  }
}

/** The difference of two readings, per unit of work (`per`, e.g. reconnects), as one line for the report. */
export function describeActivity(after: DbActivity, before: DbActivity, per: number, unit: string): string {
  const f = (n: number) => (n / per).toFixed(2);
  const tables = Object.entries(after.tables)
    .map(([name, a]) => ({ name, scans: a.scans - (before.tables[name]?.scans ?? 0), written: a.written - (before.tables[name]?.written ?? 0) }))
    .filter((t) => t.scans + t.written >= per * 0.05)
    .sort((x, y) => y.scans + y.written - (x.scans + x.written));
  const parts = [
    `per ${unit}: ${f(after.transactions - before.transactions)} transactions`,
    `scans ${
      tables
        .filter((t) => t.scans > 0)
        .map((t) => `${t.name} ${f(t.scans)}`)
        .join(', ') || 'none'
    }`,
    `rows written ${
      tables
        .filter((t) => t.written > 0)
        .map((t) => `${t.name} ${f(t.written)}`)
        .join(', ') || 'none'
    }`,
  ];
  if (after.statements && before.statements) {
    const top = Object.entries(after.statements)
      .map(([query, a]) => ({ query, calls: a.calls - (before.statements![query]?.calls ?? 0), ms: a.ms - (before.statements![query]?.ms ?? 0) }))
      .filter((s) => s.calls > 0)
      .sort((x, y) => y.ms - x.ms)
      .slice(0, 6);
    parts.push(
      `statements by time (calls per ${unit}, ms per call): ${top.map((s) => `\`${s.query}\` ${f(s.calls)}, ${(s.ms / s.calls).toFixed(3)}`).join('; ')}`,
    );
  }
  return parts.join('; ');
}

export interface DbWaits {
  /** Per second of the window: the most backends seen running a statement, and the most waiting on a lock. */
  readonly active: number[];
  readonly lockWaits: number[];
  /** The longest-running statement seen, and what it was. */
  readonly longestSeconds: number;
  readonly longestQuery: string;
  /** What the waiting backends waited on (wait_event_type:wait_event), summed over readings. */
  readonly waitEvents: Record<string, number>;
}

/**
 * Reads pg_stat_activity of one database every `everyMs` over a window: a
 * server that sits idle while its clients wait is often waiting here (a lock,
 * a long statement), and this shows which.
 */
export class DbWaitSampler {
  private client: pg.Client | null = null;
  private timer: NodeJS.Timeout | null = null;
  private started = 0;
  private busy = false;
  private waits: { active: number[]; lockWaits: number[]; longestSeconds: number; longestQuery: string; waitEvents: Record<string, number> } = {
    active: [],
    lockWaits: [],
    longestSeconds: 0,
    longestQuery: '',
    waitEvents: {},
  };

  constructor(
    private readonly url: string,
    private readonly everyMs = 500,
  ) {}

  async begin(): Promise<void> {
    this.client = new pg.Client({ connectionString: this.url });
    // Held across the window: if the database goes away meanwhile (an interrupted run), that is no crash.
    this.client.on('error', () => undefined);
    await this.client.connect();
    this.started = performance.now();
    this.timer = setInterval(() => void this.sample(), this.everyMs);
  }

  async end(): Promise<DbWaits> {
    if (this.timer) clearInterval(this.timer);
    while (this.busy) await new Promise((r) => setTimeout(r, 10));
    await this.client?.end().catch(() => undefined);
    this.client = null;
    return this.waits;
  }

  private async sample(): Promise<void> {
    if (this.busy || !this.client) return;
    this.busy = true;
    try {
      const { rows } = await this.client.query<{ wait: string | null; kind: string | null; seconds: number; query: string }>(
        `SELECT wait_event_type AS kind, wait_event_type || ':' || wait_event AS wait, extract(epoch FROM now() - query_start)::float8 AS seconds,
                left(regexp_replace(query, '\\s+', ' ', 'g'), 90) AS query
           FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' AND pid <> pg_backend_pid()`,
      );
      const second = Math.floor((performance.now() - this.started) / 1000);
      const w = this.waits;
      while (w.active.length <= second) {
        w.active.push(0);
        w.lockWaits.push(0);
      }
      w.active[second] = Math.max(w.active[second]!, rows.length);
      w.lockWaits[second] = Math.max(w.lockWaits[second]!, rows.filter((r) => r.kind === 'Lock').length);
      for (const r of rows) {
        if (r.wait) w.waitEvents[r.wait] = (w.waitEvents[r.wait] ?? 0) + 1;
        if (r.seconds > w.longestSeconds) Object.assign(w, { longestSeconds: r.seconds, longestQuery: r.query });
      }
    } catch {
      // a reading missed on a busy machine is no reason to fail the run
    } finally {
      this.busy = false;
    }
  }
}
