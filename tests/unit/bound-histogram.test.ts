import { AggregatorRegistry, Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { BoundHistogram } from '../../src/adapters/metrics/bound-histogram.js';

const BUCKETS = [0.001, 0.01, 0.1, 1];
const OBSERVED: Array<[string, string, number]> = [
  ['sendMessage', 'ok', 0.0005],
  ['sendMessage', 'ok', 0.004],
  ['sendMessage', 'ok', 2],
  ['sendMessage', 'RATE_LIMITED', 0.001],
  ['typing', 'ok', 0.05],
];

/** The same observations through prom-client's own histogram and counter, and through BoundHistogram. */
function both() {
  const reference = new Registry();
  const histogram = new Histogram({ name: 'h_seconds', help: 'h', labelNames: ['event', 'code'], buckets: BUCKETS, registers: [reference] });
  const counter = new Counter({ name: 'h_total', help: 'c', labelNames: ['event', 'code'], registers: [reference] });
  const bound = new Registry();
  const h = new BoundHistogram({ name: 'h_seconds', help: 'h', labelNames: ['event', 'code'], buckets: BUCKETS, registry: bound });
  h.counter('h_total', 'c');
  for (const [event, code, seconds] of OBSERVED) {
    histogram.observe({ event, code }, seconds);
    counter.inc({ event, code });
    h.cell(event, code).observe(seconds);
  }
  return { reference, bound };
}

describe('BoundHistogram', () => {
  it('exposes exactly what prom-client’s histogram and counter expose for the same observations', async () => {
    const { reference, bound } = both();
    expect(await bound.metrics()).toBe(await reference.metrics());
  });

  it('merges across a cluster’s workers as prom-client’s histogram does', async () => {
    const [a, b] = [both(), both()];
    const merge = async (r1: Registry, r2: Registry) => AggregatorRegistry.aggregate([await r1.getMetricsAsJSON(), await r2.getMetricsAsJSON()]).metrics();
    const merged = await merge(a.bound, b.bound);
    expect(merged).toBe(await merge(a.reference, b.reference));
    expect(merged).toContain('h_seconds_count{event="sendMessage",code="ok"} 6');
  });
});
