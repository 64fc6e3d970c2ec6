import { apiResponseTimeP95, errorRate } from '../../src/api/routes/kpis/measure';
import {
  evaluateKpi,
  isMet,
  KPI_DEFINITIONS,
  KPI_NAMES,
  mergeHistogramBuckets,
  percentile,
  percentOf,
  quantileFromBuckets,
  sumCounter,
} from '../../src/domain/kpis';
import { createMetrics } from '../../src/metrics';

describe('quantileFromBuckets (Prometheus histogram_quantile)', () => {
  const inf = Infinity;

  it('interpolates linearly inside the bucket that holds the rank', () => {
    const buckets = [
      { le: 0.1, count: 50 },
      { le: 0.2, count: 90 },
      { le: 0.5, count: 100 },
      { le: inf, count: 100 },
    ];
    // rank 95 is the 5th of the 10 observations in (0.2, 0.5]
    expect(quantileFromBuckets(0.95, buckets)).toBeCloseTo(0.35, 12);
    expect(quantileFromBuckets(0.5, buckets)).toBeCloseTo(0.1, 12);
  });

  it('interpolates from 0 in the first bucket and ignores bucket order', () => {
    expect(
      quantileFromBuckets(0.95, [
        { le: inf, count: 100 },
        { le: 0.1, count: 100 },
      ]),
    ).toBeCloseTo(0.095, 12);
  });

  it('reports the highest finite bound when the rank falls in +Inf', () => {
    expect(
      quantileFromBuckets(0.95, [
        { le: 5, count: 90 },
        { le: inf, count: 100 },
      ]),
    ).toBe(5);
  });

  it('stays at or under a bucket bound exactly when 95 % of observations are at or under it', () => {
    const at = (under: number) =>
      quantileFromBuckets(0.95, [
        { le: 0.2, count: under },
        { le: 0.5, count: 100 },
        { le: inf, count: 100 },
      ]) ?? NaN;
    expect(at(95)).toBeLessThanOrEqual(0.2);
    expect(at(94)).toBeGreaterThan(0.2);
  });

  it('is null with no observations and refuses a quantile outside (0, 1]', () => {
    expect(quantileFromBuckets(0.95, [])).toBeNull();
    expect(
      quantileFromBuckets(0.95, [
        { le: 0.1, count: 0 },
        { le: inf, count: 0 },
      ]),
    ).toBeNull();
    expect(() => quantileFromBuckets(1.5, [])).toThrow(RangeError);
    expect(() => quantileFromBuckets(0, [])).toThrow(RangeError);
  });
});

describe('reading prom-client instruments', () => {
  it('merges a real histogram’s label sets into one, leaving out excluded ones', async () => {
    const metrics = createMetrics();
    const h = metrics.httpRequestDuration;
    for (const s of [0.003, 0.004, 0.03, 0.3]) h.observe({ method: 'GET', route: '/api/agents', status: '200' }, s);
    h.observe({ method: 'POST', route: '/api/proposals', status: '500' }, 0.007);
    h.observe({ method: 'GET', route: '/api/notifications/stream', status: '200' }, 120);
    const { values } = await h.get();
    const merged = mergeHistogramBuckets(values, (l) => l.route !== '/api/notifications/stream');
    expect(merged.find((b) => b.le === 0.005)?.count).toBe(2);
    expect(merged.find((b) => b.le === 0.01)?.count).toBe(3);
    expect(merged.find((b) => b.le === 0.5)?.count).toBe(5);
    expect(merged.at(-1)).toEqual({ le: Infinity, count: 5 });
    expect(mergeHistogramBuckets(values).at(-1)).toEqual({ le: Infinity, count: 6 });
  });

  it('measures the API p95 from the process histogram, without SSE streams, and says when there is no data', async () => {
    const metrics = createMetrics();
    expect(await apiResponseTimeP95(metrics)).toMatchObject({
      value: null,
      detail: expect.stringMatching(/no API request/),
    });
    // 19 requests of 6 ms and one slow one: rank 19 of 20 is the last of the 19 in (5 ms, 10 ms], so the bucket's top.
    for (let i = 0; i < 19; i++)
      metrics.httpRequestDuration.observe({ method: 'GET', route: '/api/agents', status: '200' }, 0.006);
    metrics.httpRequestDuration.observe({ method: 'GET', route: '/api/agents', status: '200' }, 0.3);
    metrics.httpRequestDuration.observe({ method: 'GET', route: '/api/workflows/:id/events', status: '200' }, 60);
    const m = await apiResponseTimeP95(metrics);
    expect(m.value).toBeCloseTo(10, 9);
    expect(m.detail).toMatch(/^20 requests; 19 \(95\.0 %\) answered within 200 ms/);
    expect(evaluateKpi('api_response_time_p95', m).met).toBe(true);
  });

  it('computes the error rate from 5xx over all requests of the process counter', async () => {
    const metrics = createMetrics();
    expect((await errorRate(metrics)).value).toBeNull();
    metrics.httpRequests.inc({ method: 'GET', route: '/api/agents', status: '200' }, 997);
    metrics.httpRequests.inc({ method: 'GET', route: 'unmatched', status: '404' }, 1);
    metrics.httpRequests.inc({ method: 'POST', route: '/api/proposals', status: '503' }, 2);
    const m = await errorRate(metrics);
    expect(m.value).toBeCloseTo(0.2, 12);
    expect(m.detail).toBe('2 of 1000 requests answered with a 5xx status');
    expect(evaluateKpi('error_rate', m).met).toBe(false);
    expect(sumCounter((await metrics.httpRequests.get()).values, (l) => l.status === '404')).toBe(1);
  });
});

describe('percentile (nearest rank)', () => {
  it('returns an observed value', () => {
    const samples = [10, 1, 9, 2, 8, 3, 7, 4, 6, 5];
    expect(percentile(0.95, samples)).toBe(10);
    expect(percentile(0.5, samples)).toBe(5);
    expect(percentile(0.1, samples)).toBe(1);
    expect(percentile(0.95, [42])).toBe(42);
  });

  it('is null without samples', () => {
    expect(percentile(0.95, [])).toBeNull();
  });
});

describe('rates and targets', () => {
  it('gives no rate (not 0 %) when there is nothing to divide', () => {
    expect(percentOf(0, 0)).toBeNull();
    expect(percentOf(1, 4)).toBe(25);
    expect(percentOf(0, 4)).toBe(0);
  });

  it('judges a value against its target with the comparator, and not at all without a value', () => {
    expect(isMet(200, '<=', 200)).toBe(true);
    expect(isMet(200.01, '<=', 200)).toBe(false);
    expect(isMet(85, '>=', 85)).toBe(true);
    expect(isMet(84.99, '>=', 85)).toBe(false);
    expect(isMet(null, '>=', 85)).toBeNull();
    expect(isMet(NaN, '<=', 1)).toBeNull();
  });

  it('defines the seven KPIs of ARCHITECTURE §8 and judge agreement (issue 15) with their targets', () => {
    expect(KPI_NAMES).toHaveLength(8);
    const targets = Object.fromEntries(
      KPI_NAMES.map((n) => [
        n,
        `${KPI_DEFINITIONS[n].comparator} ${KPI_DEFINITIONS[n].target} ${KPI_DEFINITIONS[n].unit}`,
      ]),
    );
    expect(targets).toEqual({
      api_response_time_p95: '<= 200 ms',
      error_rate: '<= 0.1 %',
      db_query_time: '<= 100 ms',
      cache_hit_rate: '>= 80 %',
      background_task_success: '>= 95 %',
      exam_pass_rate: '>= 80 %',
      proposal_approval_rate: '>= 85 %',
      judge_agreement: '>= 0.667 alpha',
    });
  });

  it('evaluates a measurement into the KPI the API reports', () => {
    const kpi = evaluateKpi('exam_pass_rate', {
      value: 75,
      window: 'last 30 days',
      source: 'exams',
      detail: '3 of 4 exams passed',
    });
    expect(kpi).toEqual({
      name: 'exam_pass_rate',
      label: 'Exam pass rate',
      unit: '%',
      target: 80,
      comparator: '>=',
      value: 75,
      met: false,
      window: 'last 30 days',
      source: 'exams',
      detail: '3 of 4 exams passed',
    });
    expect(evaluateKpi('exam_pass_rate', { value: null, window: 'w', source: 's', detail: 'no exam' }).met).toBeNull();
  });
});
