import pg from 'pg';
import type { EventStream, StreamEvent, StreamEventType } from '../../../application/ports/event-stream.js';
import type { NotifierLedger, UnreadNotice } from '../../../application/ports/push.js';
import type { Logger } from '../../../application/ports/services.js';

/** Session advisory locks (namespace, hashtext(consumer name)): one leader per consumer, cluster-wide. */
const CONSUMER_LOCK = 727_007;

export interface PgStreamConsumerOptions {
  /** Its row in `stream_consumers` and its leader lock. */
  readonly name: string;
  /** The leader holds its lock on a connection of its own, opened from this URL. */
  readonly databaseUrl: string;
  /** The tables' schema (DB_SCHEMA), through search_path. */
  readonly schema?: string | undefined;
  readonly stream: EventStream;
  readonly types: readonly StreamEventType[];
  /** A page of events, the position after it, and the ledger that records both atomically (on the leader's connection). */
  readonly handle: (events: readonly StreamEvent[], next: number, ledger: NotifierLedger) => Promise<void>;
  readonly logger: Logger;
  /** Events per page. @default 200 */
  readonly pageSize?: number;
  /** How often the stream is read when it has nothing new. @default 250 */
  readonly pollMs?: number;
  /** How often a follower tries to take over (and a leader that lost its connection reconnects). @default 2000 */
  readonly retryMs?: number;
}

/**
 * Follows the event stream in exactly one process of the cluster: the one
 * holding a PostgreSQL session advisory lock on a dedicated connection. When
 * that process dies its session ends, the lock is free, and another process
 * takes over within `retryMs`, from the position the last one committed.
 * The first leader ever starts at the stream's horizon (from now).
 */
export class PgStreamConsumer {
  private closed = false;
  private wake: (() => void) | null = null;
  private running: Promise<void> | null = null;
  private client: pg.Client | null = null;
  /** True while this process is the one following the stream. */
  leading = false;

  constructor(private readonly o: PgStreamConsumerOptions) {}

  start(): void {
    this.running ??= this.loop();
  }

  /** Stops following; a query in flight is cut (its connection ended), and shutdown waits for it at most `closeWaitMs`. */
  async close(closeWaitMs = 3_000): Promise<void> {
    this.closed = true;
    this.wake?.();
    void this.client?.end().catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.running, new Promise<void>((resolve) => (timer = setTimeout(resolve, closeWaitMs)))]);
    clearTimeout(timer);
  }

  private async loop(): Promise<void> {
    while (!this.closed) {
      const client = new pg.Client({
        connectionString: this.o.databaseUrl,
        application_name: `stream-consumer:${this.o.name}`,
        connectionTimeoutMillis: 5_000,
        // TCP keep-alive: a connection cut without a word is noticed, so the lock is not held by a dead leader for hours.
        keepAlive: true,
        keepAliveInitialDelayMillis: 10_000,
        ...(this.o.schema ? { options: `-c search_path=${this.o.schema}` } : {}),
      });
      // A lost connection fails the next query, which ends this round; the error event must not crash the process.
      client.on('error', (error) => this.o.logger.warn({ err: error, consumer: this.o.name }, 'stream consumer connection lost'));
      this.client = client;
      try {
        await client.connect();
        // The server's side too: a leader gone without a word loses its lock within a minute, not the OS default of hours.
        await client.query('SET tcp_keepalives_idle = 30; SET tcp_keepalives_interval = 10; SET tcp_keepalives_count = 3');
        if (await this.lead(client)) await this.follow(client);
      } catch (error) {
        if (!this.closed) this.o.logger.warn({ err: error, consumer: this.o.name }, 'stream consumer stopped; retrying');
      } finally {
        if (this.leading) this.o.logger.info({ consumer: this.o.name }, 'stream consumer: no longer leading');
        this.leading = false;
        await client.end().catch(() => undefined);
      }
      await this.sleep(this.o.retryMs ?? 2_000);
    }
  }

  /** Waits for the lock; false once closed. */
  private async lead(client: pg.Client): Promise<boolean> {
    while (!this.closed) {
      const { rows } = await client.query<{ got: boolean }>('SELECT pg_try_advisory_lock($1, hashtext($2)) AS got', [CONSUMER_LOCK, this.o.name]);
      if (rows[0]?.got) return true;
      await this.sleep(this.o.retryMs ?? 2_000);
    }
    return false;
  }

  private async follow(client: pg.Client): Promise<void> {
    this.leading = true;
    await client.query('INSERT INTO stream_consumers (name, position) VALUES ($1, stream_horizon()) ON CONFLICT (name) DO NOTHING', [this.o.name]);
    const { rows } = await client.query<{ position: string }>('SELECT position FROM stream_consumers WHERE name = $1', [this.o.name]);
    let position = Number(rows[0]!.position);
    this.o.logger.info({ consumer: this.o.name, position }, 'stream consumer: leading');
    const ledger: NotifierLedger = { commit: (notices, next) => commit(client, this.o.name, notices, next) };
    while (!this.closed) {
      const page = await this.o.stream.all(position, this.o.pageSize ?? 200, this.o.types);
      if (page.events.length > 0 || page.next !== position) {
        await this.o.handle(page.events, page.next, ledger);
        position = page.next;
      }
      if (!page.hasMore) await this.sleep(this.o.pollMs ?? 250);
    }
  }

  private sleep(ms: number): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => ((this.wake = null), resolve()), ms);
      this.wake = () => (clearTimeout(timer), (this.wake = null), resolve());
    });
  }
}

/**
 * The notices and the new position in one statement (one transaction): each
 * notice is recorded once, whatever stops the process. Notices are recorded in
 * lane order, the order any multi-lane writer takes lane locks. Committed
 * without waiting for the disk (a crash loses notices and position together,
 * and they are recorded again), so the lanes it locks are held for no flush.
 */
async function commit(client: pg.Client, name: string, notices: readonly UnreadNotice[], position: number): Promise<void> {
  await client.query(
    `WITH settings AS MATERIALIZED (SELECT set_config('synchronous_commit', 'off', true)),
     notices AS MATERIALIZED (
       SELECT record_conversation_event(r.c, 'message.unread', jsonb_build_object('message_id', r.m, 'user_ids', r.u))
       FROM settings, (SELECT x.c, x.m, x.u FROM jsonb_to_recordset($1::jsonb) AS x(c integer, m bigint, u jsonb)
             ORDER BY x.c % greatest((SELECT count(*) FROM write_lanes)::int, 1), x.m OFFSET 0) r
     )
     UPDATE stream_consumers SET position = $3, updated_at = now() WHERE name = $2 AND (SELECT count(*) FROM notices) >= 0`,
    [JSON.stringify(notices.map((n) => ({ c: n.conversationId, m: n.messageId, u: n.userIds }))), name, position],
  );
}
