import type { Metric, Registry } from 'prom-client';

/** One series of a bound histogram: recording is a few additions, with nothing allocated. */
export class HistogramCell {
  /** Observations per bucket (not cumulative; made cumulative when collected). */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(
    readonly labels: Readonly<Record<string, string>>,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length);
  }

  observe(seconds: number): void {
    const bounds = this.bounds;
    for (let i = 0; i < bounds.length; i++) {
      if (seconds <= bounds[i]!) {
        this.counts[i]! += 1;
        break;
      }
    }
    this.sum += seconds;
    this.count += 1;
  }
}

interface Sample {
  readonly value: number;
  readonly labels: Record<string, string | number>;
  readonly metricName?: string;
}

/**
 * A Prometheus histogram for the hot path: each label combination is bound
 * once to a `HistogramCell`, so recording allocates nothing and hashes no
 * labels (prom-client's own children do both on every call). It is exposed
 * through prom-client's registry, in the shape its histograms have, so a
 * cluster's supervisor sums it like any other; `counter` exposes the same
 * counts as a counter.
 */
export class BoundHistogram {
  private readonly cells = new Map<string, HistogramCell>();

  constructor(private readonly o: { name: string; help: string; labelNames: readonly string[]; buckets: readonly number[]; registry: Registry }) {
    o.registry.registerMetric(this.metric(o.name, o.help, 'histogram', () => this.histogramSamples()));
  }

  /** The cell of these label values (in `labelNames` order), made on first use. */
  cell(...values: string[]): HistogramCell {
    const key = values.join('\u0000');
    let cell = this.cells.get(key);
    if (!cell) {
      cell = new HistogramCell(Object.fromEntries(this.o.labelNames.map((name, i) => [name, values[i] ?? ''])), this.o.buckets);
      this.cells.set(key, cell);
    }
    return cell;
  }

  /** The observation counts, also as a counter under `name` (no second increment on the hot path). */
  counter(name: string, help: string): void {
    this.o.registry.registerMetric(
      this.metric(name, help, 'counter', () => [...this.cells.values()].map((c) => ({ value: c.count, labels: { ...c.labels } }))),
    );
  }

  private histogramSamples(): Sample[] {
    const samples: Sample[] = [];
    const bucket = `${this.o.name}_bucket`;
    for (const c of this.cells.values()) {
      let cumulative = 0;
      this.o.buckets.forEach((le, i) => {
        cumulative += c.counts[i]!;
        samples.push({ value: cumulative, labels: { le, ...c.labels }, metricName: bucket });
      });
      samples.push(
        { value: c.count, labels: { le: '+Inf', ...c.labels }, metricName: bucket },
        { value: c.sum, labels: { ...c.labels }, metricName: `${this.o.name}_sum` },
        { value: c.count, labels: { ...c.labels }, metricName: `${this.o.name}_count` },
      );
    }
    return samples;
  }

  private metric(name: string, help: string, type: 'histogram' | 'counter', values: () => Sample[]): Metric {
    const get = () => Promise.resolve({ name, help, type, values: values(), aggregator: 'sum' as const });
    // prom-client's registry only calls get() (and reads the name); its types name only its own classes.
    const reset = () => {
      for (const c of this.cells.values()) {
        c.counts.fill(0);
        c.sum = 0;
        c.count = 0;
      }
    };
    return { name, get, reset } as unknown as Metric;
  }
}
