import type { Message } from '../../../domain/message.js';

/** A batch of one sequence: its ids in order, the sequence's highest id before it, the rows (null: read them by id). */
export interface Batch {
  readonly prev: number;
  readonly ids: readonly number[];
  rows: readonly Message[] | null;
}

export interface SequencerSource {
  /** The messages of a sequence after an id, oldest first (as far as this process follows them). */
  fetch(key: number, afterId: number): Promise<Message[]>;
  findByIds(ids: readonly number[]): Promise<Message[]>;
}

export interface SequencerOptions {
  readonly gapWaitMs: number;
  readonly deliver: (m: Message) => void;
  /** A gap was filled from the database. */
  readonly filled: () => void;
  readonly failed: (error: unknown, key: number) => void;
}

class Sequence {
  /** The highest id delivered (or known to be committed and replayed); -1 while opening. */
  cursor = -1;
  /** Batches that cannot go yet, by first id. */
  readonly waiting: Batch[] = [];
  /** Events that wait for the batches ahead of them. */
  readonly after: Array<() => void> = [];
  /** Reading from the database (opening, a gap, a catch-up, rows by id): everything waits. */
  busy = false;
  /** While opening: the latest id before this process followed it, once known. */
  baseline: number | undefined;
  gapTimer: NodeJS.Timeout | null = null;
}

/**
 * Delivery in order per sequence (a write lane or a conversation), each id at
 * most once: a batch is delivered when the sequence has delivered everything
 * up to the batch's `prev`; a batch ahead waits, and after `gapWaitMs` what
 * it waits for is read from the database. Hot path: a batch in order, with
 * its rows, is delivered without allocating.
 */
export class Sequencer {
  private readonly sequences = new Map<number, Sequence>();
  private closed = false;

  constructor(
    private readonly source: SequencerSource,
    private readonly options: SequencerOptions,
  ) {}

  get size(): number {
    return this.sequences.size;
  }

  has(key: number): boolean {
    return this.sequences.has(key);
  }

  keys(): number[] {
    return [...this.sequences.keys()];
  }

  cursorOf(key: number): number | undefined {
    const s = this.sequences.get(key);
    return s && s.cursor >= 0 ? s.cursor : undefined;
  }

  /** Nothing waiting and nothing being read. */
  idle(key: number): boolean {
    const s = this.sequences.get(key);
    return s !== undefined && !s.busy && s.waiting.length === 0;
  }

  /** A sequence whose position is known (a write lane at start). */
  open(key: number, cursor: number): void {
    const s = new Sequence();
    s.cursor = cursor;
    this.sequences.set(key, s);
  }

  /** A sequence being opened: what arrives waits until `release`. */
  openHeld(key: number, baseline?: number): void {
    let s = this.sequences.get(key);
    if (!s) {
      s = new Sequence();
      s.busy = true;
      this.sequences.set(key, s);
    }
    if (s.cursor < 0 && s.baseline === undefined) s.baseline = baseline;
  }

  /** Of a sequence being opened: the latest id before it was followed, if known. */
  baselineOf(key: number): number | undefined {
    return this.sequences.get(key)?.baseline;
  }

  /** Being opened (held until `release`). */
  opening(key: number): boolean {
    const s = this.sequences.get(key);
    return s !== undefined && s.cursor < 0;
  }

  /**
   * Opens a held sequence at its baseline (read before subscribing),
   * delivering `since` (what committed after it, read after subscribing) first.
   */
  release(key: number, since: readonly Message[]): void {
    const s = this.sequences.get(key);
    if (!s || s.cursor >= 0) return;
    // No baseline (the database did not answer): from the first batch that arrives.
    s.cursor = s.baseline ?? Math.max(0, s.waiting[0]?.prev ?? 0);
    this.deliverAll(s, since);
    s.busy = false;
    this.drain(key, s);
  }

  drop(key: number): void {
    const s = this.sequences.get(key);
    if (s?.gapTimer) clearTimeout(s.gapTimer);
    this.sequences.delete(key);
  }

  close(): void {
    this.closed = true;
    for (const key of this.keys()) this.drop(key);
  }

  offer(key: number, batch: Batch): void {
    const s = this.sequences.get(key);
    if (!s) return;
    if (!s.busy && s.waiting.length === 0 && batch.prev <= s.cursor && batch.rows) {
      this.deliverBatch(s, batch);
      return;
    }
    const first = batch.ids[0]!;
    let at = s.waiting.length;
    while (at > 0 && s.waiting[at - 1]!.ids[0]! > first) at--;
    s.waiting.splice(at, 0, batch);
    if (!s.busy) this.drain(key, s);
  }

  /** Runs `fn` once the sequence's waiting batches have gone (at once when none wait). */
  after(key: number, fn: () => void): void {
    const s = this.sequences.get(key);
    if (!s || (!s.busy && s.waiting.length === 0)) fn();
    else s.after.push(fn);
  }

  /** After an outage: replays what committed after the cursor, then moves it to at least `committed`. */
  async catchUp(key: number, committed: number): Promise<number> {
    const s = this.sequences.get(key);
    if (!s || s.cursor < 0) return 0;
    return this.read(key, s, committed);
  }

  /** A gap seen from outside (the periodic check): read up to `upTo` from the database. */
  async fill(key: number, upTo: number): Promise<void> {
    const s = this.sequences.get(key);
    if (!s || s.busy || s.cursor < 0) return;
    try {
      await this.read(key, s, upTo);
      this.options.filled();
    } catch (error) {
      this.options.failed(error, key);
    }
  }

  private async read(key: number, s: Sequence, upTo: number): Promise<number> {
    if (s.gapTimer) clearTimeout(s.gapTimer);
    s.gapTimer = null;
    s.busy = true;
    try {
      const found = await this.source.fetch(key, s.cursor);
      if (this.sequences.get(key) !== s) return 0;
      const before = s.cursor;
      this.deliverAll(s, found);
      if (upTo > s.cursor) s.cursor = upTo;
      return found.filter((m) => m.id > before).length;
    } finally {
      s.busy = false;
      if (this.sequences.get(key) === s) this.drain(key, s);
    }
  }

  private drain(key: number, s: Sequence): void {
    while (s.waiting.length > 0) {
      const batch = s.waiting[0]!;
      if (batch.ids[batch.ids.length - 1]! <= s.cursor) {
        s.waiting.shift();
        continue;
      }
      if (batch.prev > s.cursor) {
        // Something before this batch is late or lost: wait for it, then read it.
        s.gapTimer ??= setTimeout(() => {
          s.gapTimer = null;
          if (this.closed || this.sequences.get(key) !== s || s.busy) return;
          this.read(key, s, batch.prev).then(this.options.filled, (error: unknown) => {
            this.options.failed(error, key);
            if (this.sequences.get(key) === s) this.drain(key, s);
          });
        }, this.options.gapWaitMs);
        return;
      }
      if (!batch.rows) {
        s.busy = true;
        const ids = batch.ids.filter((id) => id > s.cursor);
        this.source.findByIds(ids).then(
          (rows) => {
            batch.rows = rows;
            s.busy = false;
            // Rows gone (deleted since) are passed over: their ids still count as delivered.
            if (this.sequences.get(key) === s) this.drain(key, s);
          },
          (error: unknown) => {
            s.busy = false;
            this.options.failed(error, key);
            if (this.sequences.get(key) === s) setTimeout(() => this.drain(key, s), this.options.gapWaitMs).unref();
          },
        );
        return;
      }
      s.waiting.shift();
      this.deliverBatch(s, batch);
    }
    if (s.gapTimer) {
      clearTimeout(s.gapTimer);
      s.gapTimer = null;
    }
    if (s.after.length > 0) for (const fn of s.after.splice(0)) fn();
  }

  private deliverBatch(s: Sequence, batch: Batch): void {
    for (const m of batch.rows!) if (m.id > s.cursor) this.options.deliver(m);
    const last = batch.ids[batch.ids.length - 1]!;
    if (last > s.cursor) s.cursor = last;
  }

  private deliverAll(s: Sequence, messages: readonly Message[]): void {
    for (const m of messages) {
      if (m.id <= s.cursor) continue;
      this.options.deliver(m);
      s.cursor = m.id;
    }
  }
}
