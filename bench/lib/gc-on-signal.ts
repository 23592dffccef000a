/**
 * Preloaded into every process the benchmark starts (`node --expose-gc --import`
 * this file). On SIGUSR2: a full collection, then one line on stderr with the
 * young generation's size and the heap in use, so that memory readings compare
 * what a process holds rather than when it last collected or how far its young
 * generation has grown (that follows the allocation rate, not what is held).
 */
import v8 from 'node:v8';

export const GC_MARKER = 'bench-gc ';

export interface GcReport {
  readonly newSpaceBytes: number;
  readonly heapUsedBytes: number;
}

/** V8's `gc` extension and its options (taken by Node 20's V8 11.3 and Node 24's V8 13.6 alike). */
type Gc = (options?: { type?: 'major' | 'minor'; execution?: 'sync' | 'async'; flavor?: 'regular' | 'last-resort' }) => void;

const gc = (globalThis as { gc?: Gc }).gc;
if (gc) {
  process.on('SIGUSR2', () => {
    // The memory-reducing flavour, not a plain gc(): on Node 24 (V8 13.6), unlike Node 20, a plain full
    // collection puts the pages it empties (and the young generation's, when it shrinks) in V8's
    // page pool, still mapped and resident, for reuse; only a memory-reducing collection (the
    // memory reducer, memory pressure, or this) gives them back to the kernel. Without it, RSS
    // after a burst of allocation stays at the burst's high-water mark however little is live
    // (measured on Node 24.22: 256 KiB V8 pages holding about 100 MB more than heapTotal after a
    // plain gc()), which says how fast the process allocated, not what it holds. A leak stays: a
    // memory-reducing collection frees only what nothing references.
    gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
    const newSpace = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
    const report: GcReport = { newSpaceBytes: newSpace?.physical_space_size ?? 0, heapUsedBytes: process.memoryUsage().heapUsed };
    process.stderr.write(`${GC_MARKER}${JSON.stringify(report)}\n`);
  });
}
