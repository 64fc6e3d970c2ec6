/**
 * The KPIs of ARCHITECTURE §8 — targets, and the pure arithmetic that measures against them: percentiles from
 * histogram buckets or samples, rates, and met / not met. No I/O: the API gathers the inputs.
 */

export type KpiComparator = '<=' | '>=';

export interface KpiDefinition {
  label: string;
  unit: 'ms' | '%' | 'alpha';
  target: number;
  comparator: KpiComparator;
}

export const KPI_DEFINITIONS = {
  api_response_time_p95: { label: 'API response time (p95)', unit: 'ms', target: 200, comparator: '<=' },
  error_rate: { label: 'Error rate (5xx)', unit: '%', target: 0.1, comparator: '<=' },
  db_query_time: { label: 'DB query time (p95)', unit: 'ms', target: 100, comparator: '<=' },
  cache_hit_rate: { label: 'LLM cache hit rate', unit: '%', target: 80, comparator: '>=' },
  background_task_success: { label: 'Background task success', unit: '%', target: 95, comparator: '>=' },
  exam_pass_rate: { label: 'Exam pass rate', unit: '%', target: 80, comparator: '>=' },
  proposal_approval_rate: { label: 'Proposal approval rate', unit: '%', target: 85, comparator: '>=' },
  /** The target is CUSTODY_JUDGE_MIN_ALPHA (0.667 by default: Krippendorff's floor for tentative conclusions). */
  judge_agreement: {
    label: "Judge agreement (lowest Krippendorff's alpha)",
    unit: 'alpha',
    target: 0.667,
    comparator: '>=',
  },
} as const satisfies Record<string, KpiDefinition>;

export type KpiName = keyof typeof KPI_DEFINITIONS;
export const KPI_NAMES = Object.keys(KPI_DEFINITIONS) as KpiName[];

/** What was measured: `value` null when there is no data yet, and `detail` then says why. */
export interface KpiMeasurement {
  value: number | null;
  window: string;
  source: string;
  detail: string;
}

export interface Kpi extends KpiDefinition, KpiMeasurement {
  name: KpiName;
  /** null when there is no value to judge (never a made-up number) */
  met: boolean | null;
}

/** A measurement judged against its KPI's target (or the configured `target` that replaces it). */
export function evaluateKpi(name: KpiName, measured: KpiMeasurement, target?: number): Kpi {
  const def: KpiDefinition = { ...KPI_DEFINITIONS[name], ...(target !== undefined && { target }) };
  return { name, ...def, ...measured, met: isMet(measured.value, def.comparator, def.target) };
}

/** Whether `value` meets `target`; null without a value. */
export function isMet(value: number | null, comparator: KpiComparator, target: number): boolean | null {
  if (value === null || !Number.isFinite(value)) return null;
  return comparator === '<=' ? value <= target : value >= target;
}

/** `part` of `whole` in percent; null when `whole` is 0 (no data, not 0 %). */
export function percentOf(part: number, whole: number): number | null {
  return whole > 0 ? (part / whole) * 100 : null;
}

/** One cumulative histogram bucket: how many observations were ≤ `le` (`Infinity` for `+Inf`). */
export interface CumulativeBucket {
  le: number;
  count: number;
}

/**
 * The q-quantile of a cumulative histogram, as Prometheus' `histogram_quantile` computes it: linear interpolation
 * inside the bucket holding the rank (from 0 for the first bucket); a rank in the `+Inf` bucket gives the highest
 * finite bound (the true value is only known to be above it). Null when nothing was observed.
 */
export function quantileFromBuckets(q: number, buckets: readonly CumulativeBucket[]): number | null {
  if (!(q > 0 && q <= 1)) throw new RangeError(`quantile ${q} is not in (0, 1]`);
  const sorted = [...buckets].sort((a, b) => a.le - b.le);
  const total = sorted.at(-1)?.count ?? 0;
  if (total <= 0) return null;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const bucket of sorted) {
    if (bucket.count >= rank) {
      if (bucket.le === Infinity) return sorted.length > 1 ? lower : null;
      return lower + (bucket.le - lower) * ((rank - below) / (bucket.count - below));
    }
    lower = bucket.le;
    below = bucket.count;
  }
  return null;
}

/** A value of a prom-client metric (`metric.get().values`): labels, value and, for histograms, the series name. */
export interface MetricSample {
  labels: Partial<Record<string, string | number>>;
  value: number;
  metricName?: string;
}

/**
 * Merges a prom-client histogram's per-label-set cumulative buckets (`<name>_bucket` series with an `le` label) into
 * one histogram, keeping only the label sets `include` accepts.
 */
export function mergeHistogramBuckets(
  samples: readonly MetricSample[],
  include: (labels: MetricSample['labels']) => boolean = () => true,
): CumulativeBucket[] {
  const byLe = new Map<number, number>();
  for (const s of samples) {
    if (s.metricName !== undefined && !s.metricName.endsWith('_bucket')) continue;
    const le = s.labels.le;
    if (le === undefined || !include(s.labels)) continue;
    const bound = le === '+Inf' ? Infinity : Number(le);
    byLe.set(bound, (byLe.get(bound) ?? 0) + s.value);
  }
  return [...byLe].map(([le, count]) => ({ le, count })).sort((a, b) => a.le - b.le);
}

/** The sum of a counter's values over the label sets `include` accepts. */
export function sumCounter(
  samples: readonly MetricSample[],
  include: (labels: MetricSample['labels']) => boolean = () => true,
): number {
  return samples.reduce((sum, s) => (include(s.labels) ? sum + s.value : sum), 0);
}

/** The nearest-rank q-percentile of `samples` (an observed value, never an interpolated one); null without samples. */
export function percentile(q: number, samples: readonly number[]): number | null {
  if (!(q > 0 && q <= 1)) throw new RangeError(`quantile ${q} is not in (0, 1]`);
  if (samples.length === 0) return null;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.ceil(q * sorted.length) - 1] ?? null;
}
