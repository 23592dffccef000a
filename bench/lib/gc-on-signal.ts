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

const gc = (globalThis as { gc?: () => void }).gc;
if (gc) {
  process.on('SIGUSR2', () => {
    gc();
    const newSpace = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
    const report: GcReport = { newSpaceBytes: newSpace?.physical_space_size ?? 0, heapUsedBytes: process.memoryUsage().heapUsed };
    process.stderr.write(`${GC_MARKER}${JSON.stringify(report)}\n`);
  });
}
