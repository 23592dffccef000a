/** Latency samples in ms; percentiles by sorting (the harness keeps at most a few hundred thousand). */
export function percentiles(samples: number[]): { p50: number; p99: number; p999: number; count: number } {
  if (samples.length === 0) return { p50: NaN, p99: NaN, p999: NaN, count: 0 };
  const sorted = Float64Array.from(samples).sort();
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { p50: at(0.5), p99: at(0.99), p999: at(0.999), count: sorted.length };
}

/** Keeps every sample up to `max`, then a uniform random subset of that size (reservoir sampling). */
export class Reservoir {
  readonly samples: number[] = [];
  private seen = 0;
  constructor(private readonly max = 200_000) {}
  add(value: number): void {
    this.seen += 1;
    if (this.samples.length < this.max) this.samples.push(value);
    else {
      const i = Math.floor(Math.random() * this.seen);
      if (i < this.max) this.samples[i] = value;
    }
  }
}

export const now = (): number => performance.timeOrigin + performance.now();

/** How many of `times` (ms) fall in each second from `since` on. */
export function perSecond(times: readonly number[], since: number): number[] {
  const buckets: number[] = [];
  for (const t of times) {
    if (t < since) continue;
    const s = Math.floor((t - since) / 1000);
    while (buckets.length <= s) buckets.push(0);
    buckets[s]! += 1;
  }
  return buckets;
}
