/**
 * Figures as ratios to the floor measured in the same run: the machine's speed
 * moves from day to day (and with whatever else shares it), the ratio much less.
 */

export interface Metric {
  readonly key: string;
  readonly label: string;
  readonly digits: number;
  readonly better: 'higher' | 'lower';
  /** The bound the team tracks on subject ÷ floor; without one the ratio is only reported. */
  readonly target?: number;
  /** Reported beside the others but not divided by the floor's (counts, load-generator CPU). */
  readonly absoluteOnly?: boolean;
}

export interface Measured {
  readonly label: string;
  readonly figures: Record<string, number>;
  /** Anything a reader needs to trust the figures (errors, failed connections, a saturated load generator). */
  readonly remarks?: string[];
  /** Raw material behind the figures, kept in the JSON record only. */
  readonly detail?: Record<string, unknown>;
}

export interface Comparison {
  readonly scenario: string;
  readonly description: string;
  readonly metrics: readonly Metric[];
  readonly floor: Measured;
  readonly subjects: readonly Measured[];
  /** What the ratio table's header calls the yardstick. @default 'floor' */
  readonly yardstick?: string;
}

/** Cores taken by other work during a measured run above which its figures are flagged. */
export const OTHER_LOAD_WARNING = 0.5;

export type Verdict = 'PASS' | 'MISS' | null;

export function ratioOf(subject: Measured, floor: Measured, metric: Metric): number {
  return (subject.figures[metric.key] ?? NaN) / (floor.figures[metric.key] ?? NaN);
}

export function verdictOf(ratio: number, metric: Metric): Verdict {
  if (metric.target === undefined || !Number.isFinite(ratio)) return null;
  return (metric.better === 'higher' ? ratio >= metric.target : ratio <= metric.target) ? 'PASS' : 'MISS';
}

const bound = (m: Metric) => (m.target === undefined ? '' : ` (${m.better === 'higher' ? '≥' : '≤'} ${m.target})`);

export const fmt = (n: unknown, digits = 0): string =>
  typeof n === 'number' && Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '–';

/** Two tables: the absolute figures with the floor's first, then each subject's ratios to the floor with verdicts. */
export function comparisonMarkdown(c: Comparison): string {
  const all = [c.floor, ...c.subjects];
  const abs = [
    `| ${['variant', ...c.metrics.map((m) => m.label)].join(' | ')} |`,
    `|${'---|'.repeat(c.metrics.length + 1)}`,
    ...all.map((v) => `| ${[v === c.floor ? `**${v.label}**` : v.label, ...c.metrics.map((m) => fmt(v.figures[m.key], m.digits))].join(' | ')} |`),
  ];
  const compared = c.metrics.filter((m) => !m.absoluteOnly);
  const rel = [
    `| ${[`× ${c.yardstick ?? 'floor'}`, ...compared.map((m) => `${m.label}${bound(m)}`)].join(' | ')} |`,
    `|${'---|'.repeat(compared.length + 1)}`,
    ...c.subjects.map(
      (v) =>
        `| ${[
          v.label,
          ...compared.map((m) => {
            const r = ratioOf(v, c.floor, m);
            const verdict = verdictOf(r, m);
            return `${fmt(r, 2)}${verdict ? ` ${verdict}` : ''}`;
          }),
        ].join(' | ')} |`,
    ),
  ];
  const remarks = all.flatMap((v) => (v.remarks ?? []).map((r) => `- ${v.label}: ${r}`));
  return [`### ${c.scenario}`, '', c.description, '', ...abs, '', ...rel, ...(remarks.length ? ['', ...remarks] : [])].join('\n');
}

/** The comparison with every ratio and verdict spelled out, for the JSON record. */
export function comparisonJson(c: Comparison): unknown {
  return {
    ...c,
    ratios: c.subjects.map((v) => ({
      label: v.label,
      ...Object.fromEntries(
        c.metrics
          .filter((m) => !m.absoluteOnly)
          .map((m) => {
            const ratio = ratioOf(v, c.floor, m);
            return [m.key, { ratio, target: m.target ?? null, better: m.better, verdict: verdictOf(ratio, m) }];
          }),
      ),
    })),
  };
}

/** Per key, the median over repeated measurements of the same variant. */
export function medianFigures(runs: readonly Record<string, number>[]): Record<string, number> {
  const keys = new Set(runs.flatMap((r) => Object.keys(r)));
  return Object.fromEntries(
    [...keys].map((k) => {
      const values = runs
        .map((r) => r[k] ?? NaN)
        .filter(Number.isFinite)
        .sort((a, b) => a - b);
      if (values.length === 0) return [k, NaN];
      const mid = values.length / 2;
      return [k, values.length % 2 ? values[Math.floor(mid)]! : (values[mid - 1]! + values[mid]!) / 2];
    }),
  );
}

/** Least-squares slope of y over x, and how well a line fits (r²). */
export function linearFit(points: readonly (readonly [number, number])[]): { slope: number; intercept: number; r2: number } {
  const n = points.length;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (const [x, y] of points) {
    sxy += (x - mx) * (y - my);
    sxx += (x - mx) ** 2;
    syy += (y - my) ** 2;
  }
  const slope = sxy / sxx;
  return { slope, intercept: my - slope * mx, r2: syy === 0 ? 1 : (sxy * sxy) / (sxx * syy) };
}
