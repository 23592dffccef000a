import type { Leadership } from '../../application/ports/webhooks.js';
import type { Logger } from '../../application/ports/services.js';
import { GuardedClient } from './pool.js';

export interface PgLeadershipOptions {
  readonly url: string;
  /** search_path schema, as the server's other connections use. */
  readonly schema?: string;
  /** The advisory lock's key: one per role. */
  readonly key: number;
  readonly logger: Logger;
  /** How often a process that does not lead tries again. @default 1000 */
  readonly retryMs?: number;
  readonly applicationName: string;
}

/**
 * Leadership as a PostgreSQL session advisory lock held on a dedicated
 * connection: when the holder dies its session ends, the lock is released,
 * and another process's next try takes it. Losing the connection ends the
 * leadership here at once (the signal aborts).
 */
export class PgLeadership implements Leadership {
  private closed = false;
  private client: GuardedClient | null = null;
  private timer: NodeJS.Timeout | null = null;
  private current: AbortController | null = null;
  private running: Promise<void> | null = null;

  constructor(private readonly options: PgLeadershipOptions) {}

  run(lead: (lost: AbortSignal) => Promise<void>): void {
    const attempt = async () => {
      this.timer = null;
      if (this.closed) return;
      // TCP keep-alive: a connection cut without a word is noticed, so the lock is not held by a dead leader for hours.
      const client = new GuardedClient({
        connectionString: this.options.url,
        application_name: this.options.applicationName,
        keepAlive: true,
        keepAliveInitialDelayMillis: 10_000,
      });
      try {
        await client.connect();
        // The server's side too: a leader gone without a word loses its lock within a minute, not the OS default of hours.
        await client.query('SET tcp_keepalives_idle = 30; SET tcp_keepalives_interval = 10; SET tcp_keepalives_count = 3');
        if (this.options.schema) await client.query(`SET search_path TO "${this.options.schema}", public`);
        const { rows } = await client.query<{ held: boolean }>('SELECT pg_try_advisory_lock($1) AS held', [this.options.key]);
        if (!rows[0]?.held || this.closed) throw new NotLeading();
      } catch (error) {
        if (!(error instanceof NotLeading)) this.options.logger.warn({ err: error }, 'leadership: cannot reach the database; retrying');
        await client.end().catch(() => undefined);
        return this.retry(attempt);
      }
      this.client = client;
      const control = (this.current = new AbortController());
      const lose = () => control.abort();
      client.on('error', lose);
      client.on('end', lose);
      this.running = lead(control.signal)
        .catch((error: unknown) => this.options.logger.error({ err: error }, 'leadership: the leader failed'))
        .finally(async () => {
          control.abort();
          this.client = null;
          await client.end().catch(() => undefined);
          this.retry(attempt);
        });
    };
    void attempt();
  }

  private retry(attempt: () => Promise<void>): void {
    if (!this.closed) this.timer = setTimeout(() => void attempt(), this.options.retryMs ?? 1000);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.current?.abort();
    // An attempt in flight may take its whole deadline; the lock is released now and the next leader redoes it.
    await this.client?.end().catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.running, new Promise((resolve) => (timer = setTimeout(resolve, 2_000)))]);
    clearTimeout(timer);
  }
}

class NotLeading extends Error {}
