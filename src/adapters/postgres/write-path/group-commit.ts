import { OverloadedError } from '../../../application/errors.js';

export interface GroupCommitOptions {
  /** Most items written in one transaction. @default 256 */
  readonly maxBatchSize?: number;
  /** How long the first item of a batch may wait for company, in ms; 0 means until the current I/O turn ends. @default 0 */
  readonly maxWaitMs?: number;
  /** Items waiting beyond this are refused at once with `OverloadedError`. @default 10000 */
  readonly maxQueued?: number;
}

type Settlement<R> = { ok: true; value: R } | { ok: false; error: unknown };
interface Pending<T, R> {
  readonly item: T;
  readonly resolve: (value: R) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Group commit, on the hot path on purpose: concurrent writes coalesce into one
 * transaction, and one batch is in flight at a time so that commit order is
 * arrival order. While a batch commits, the next one fills up.
 */
export class GroupCommit<T, R> {
  private queue: Pending<T, R>[] = [];
  private flushing = false;
  private scheduled = false;
  private idle: Array<() => void> = [];
  private readonly maxBatchSize: number;
  private readonly maxWaitMs: number;
  private readonly maxQueued: number;

  /** `write` settles each item of a batch on its own; a throw fails the whole batch. */
  constructor(
    private readonly write: (items: T[]) => Promise<Settlement<R>[]>,
    options: GroupCommitOptions = {},
  ) {
    this.maxBatchSize = options.maxBatchSize ?? 256;
    this.maxWaitMs = options.maxWaitMs ?? 0;
    this.maxQueued = options.maxQueued ?? 10_000;
  }

  get queued(): number {
    return this.queue.length;
  }

  push(item: T): Promise<R> {
    if (this.queue.length >= this.maxQueued) return Promise.reject(new OverloadedError());
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.schedule();
    });
  }

  /** Resolves once everything queued so far is written (for shutdown). */
  drain(): Promise<void> {
    if (!this.flushing && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private schedule(): void {
    if (this.flushing || this.scheduled) return;
    if (this.queue.length >= this.maxBatchSize) {
      void this.flush();
      return;
    }
    this.scheduled = true;
    const run = () => {
      this.scheduled = false;
      void this.flush();
    };
    if (this.maxWaitMs > 0) setTimeout(run, this.maxWaitMs);
    else setImmediate(run);
  }

  private async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatchSize);
      let results: Settlement<R>[];
      try {
        results = await this.write(batch.map((p) => p.item));
      } catch (error) {
        results = batch.map(() => ({ ok: false, error }));
      }
      batch.forEach((p, i) => {
        const r = results[i];
        if (r?.ok) p.resolve(r.value);
        else p.reject(r ? r.error : new Error('The batch writer returned too few results'));
      });
    }
    this.flushing = false;
    for (const resolve of this.idle.splice(0)) resolve();
  }
}
