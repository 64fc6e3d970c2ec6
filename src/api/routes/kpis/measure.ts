import type { EntityManager } from '@mikro-orm/postgresql';
import { judgeAgreement } from '../../../db/judge-agreement';
import type { JudgeAgreement } from '../../../domain/judges';
import {
  KPI_DEFINITIONS,
  mergeHistogramBuckets,
  percentOf,
  quantileFromBuckets,
  sumCounter,
  type KpiMeasurement,
} from '../../../domain/kpis';
import type { Metrics } from '../../../metrics';

/**
 * How each KPI of ARCHITECTURE §8 is measured right now. Every one says its window and source; with nothing to
 * measure yet the value is null and the detail says why — never a made-up number.
 */

/** Server-Sent Events routes: a request lasts as long as its stream, so it is no response time. */
export const STREAM_ROUTES: readonly string[] = ['/api/notifications/stream', '/api/workflows/:id/events'];

const PER_PROCESS = (metric: string) => `prom-client ${metric} of this API process (each API process keeps its own)`;
const sinceStart = () => `since this API process started (${Math.round(process.uptime())} s ago)`;

/** p95 of API response times from the process's request-duration histogram, interpolated within its bucket. */
export async function apiResponseTimeP95(metrics: Metrics): Promise<KpiMeasurement> {
  const { values } = await metrics.httpRequestDuration.get();
  const buckets = mergeHistogramBuckets(values, (labels) => !STREAM_ROUTES.includes(String(labels.route)));
  const seconds = quantileFromBuckets(0.95, buckets);
  const total = buckets.at(-1)?.count ?? 0;
  const finite = buckets.filter((b) => b.le !== Infinity);
  const beyond = seconds !== null && (finite.at(-1)?.count ?? 0) < 0.95 * total;
  const source = `${PER_PROCESS('http_request_duration_seconds')}; p95 interpolated within its bucket (as histogram_quantile), SSE streams excluded`;
  if (seconds === null)
    return {
      value: null,
      window: sinceStart(),
      source,
      detail: 'no API request has been answered by this process yet',
    };
  const targetS = KPI_DEFINITIONS.api_response_time_p95.target / 1000;
  const within = finite.find((b) => b.le === targetS)?.count;
  const detail = [
    `${total} requests`,
    ...(within === undefined
      ? []
      : [
          `${within} (${percentOf(within, total)?.toFixed(1)} %) answered within ${targetS * 1000} ms (exact: a bucket bound)`,
        ]),
    ...(beyond
      ? [
          `p95 is above the largest bucket and reported as its bound (${(finite.at(-1)?.le ?? 0) * 1000} ms), a lower limit`,
        ]
      : []),
  ].join('; ');
  return { value: seconds * 1000, window: sinceStart(), source, detail };
}

/** The share of API requests answered with a 5xx, from the process's request counter. */
export async function errorRate(metrics: Metrics): Promise<KpiMeasurement> {
  const { values } = await metrics.httpRequests.get();
  const total = sumCounter(values);
  const errors = sumCounter(values, (labels) => String(labels.status).startsWith('5'));
  const source = PER_PROCESS('http_requests_total');
  if (total === 0)
    return {
      value: null,
      window: sinceStart(),
      source,
      detail: 'no API request has been answered by this process yet',
    };
  return {
    value: percentOf(errors, total),
    window: sinceStart(),
    source,
    detail: `${errors} of ${total} requests answered with a 5xx status`,
  };
}

/**
 * p95 of the real statements this process sent (every query of the API and, in one process with it, the worker),
 * from the `db_query_duration_seconds` histogram, interpolated within its bucket; pool wait not included.
 */
export async function dbQueryTime(metrics: Metrics): Promise<KpiMeasurement> {
  const { values } = await metrics.dbQueryDuration.get();
  const buckets = mergeHistogramBuckets(values);
  const seconds = quantileFromBuckets(0.95, buckets);
  const total = buckets.at(-1)?.count ?? 0;
  const source = `${PER_PROCESS('db_query_duration_seconds')}: every SQL statement sent, from sending to the answer (pool wait excluded); p95 interpolated within its bucket`;
  if (seconds === null)
    return { value: null, window: sinceStart(), source, detail: 'no query has been sent by this process yet' };
  const targetS = KPI_DEFINITIONS.db_query_time.target / 1000;
  const within = buckets.find((b) => b.le === targetS)?.count;
  const byKind = new Map<string, number>();
  for (const v of values) if (v.metricName?.endsWith('_count')) byKind.set(String(v.labels.kind), v.value);
  const detail = [
    `${total} queries (${[...byKind].map(([k, n]) => `${k} ${n}`).join(', ')})`,
    ...(within === undefined
      ? []
      : [`${within} (${percentOf(within, total)?.toFixed(1)} %) within ${targetS * 1000} ms (exact: a bucket bound)`]),
  ].join('; ');
  return { value: seconds * 1000, window: sinceStart(), source, detail };
}

async function counts<K extends string>(em: EntityManager, sql: string): Promise<Record<K, number>> {
  const [row] = (await em.getConnection().execute(sql)) as Array<Record<K, string | number>>;
  return Object.fromEntries(Object.entries(row ?? {}).map(([k, v]) => [k, Number(v)])) as Record<K, number>;
}

/** Answers served from the LLM cache over the last 24 h, from the ledger. */
export async function cacheHitRate(em: EntityManager): Promise<KpiMeasurement> {
  const c = await counts<'hits' | 'answered' | 'failed'>(
    em,
    `select count(*) filter (where cache_hit) as hits,
            count(*) filter (where not cache_hit and outcome in ('ok', 'bad_output')) as answered,
            count(*) filter (where not cache_hit and outcome not in ('ok', 'bad_output', 'unknown')) as failed
       from token_usage_events where at >= now() - interval '24 hours'`,
  );
  const base = {
    window: 'last 24 h',
    source:
      'token_usage_events (the LLM ledger): cache hits / (cache hits + calls a provider answered); refused and failed calls not counted',
  };
  const whole = c.hits + c.answered;
  if (whole === 0)
    return {
      ...base,
      value: null,
      detail: `no LLM call was answered in the last 24 h${c.failed > 0 ? ` (${c.failed} refused or failed)` : ''}`,
    };
  return {
    ...base,
    value: percentOf(c.hits, whole),
    detail: `${c.hits} cache hits, ${c.answered} provider answers${c.failed > 0 ? `, ${c.failed} refused or failed calls not counted` : ''}`,
  };
}

/** Background work that ended over 7 days: agent runs completed vs failed, and exams graded vs errored. */
export async function backgroundTaskSuccess(em: EntityManager): Promise<KpiMeasurement> {
  const c = await counts<'runs_ok' | 'runs_failed' | 'exams_ok' | 'exams_failed'>(
    em,
    `select (select count(*) from agent_runs where status = 'completed' and completed_at >= now() - interval '7 days') as runs_ok,
            (select count(*) from agent_runs where status = 'failed' and completed_at >= now() - interval '7 days') as runs_failed,
            (select count(*) from exams where status in ('passed', 'failed') and completed_at >= now() - interval '7 days') as exams_ok,
            (select count(*) from exams where status = 'error' and completed_at >= now() - interval '7 days') as exams_failed`,
  );
  const ok = c.runs_ok + c.exams_ok;
  const failed = c.runs_failed + c.exams_failed;
  const base = {
    window: 'last 7 days',
    source:
      'agent_runs (completed vs failed) and exams (graded — passed or failed — vs error); skipped and running work not counted',
  };
  if (ok + failed === 0) return { ...base, value: null, detail: 'no agent run or exam ended in the last 7 days' };
  return {
    ...base,
    value: percentOf(ok, ok + failed),
    detail: `${ok} succeeded, ${failed} failed: runs ${c.runs_ok}/${c.runs_ok + c.runs_failed}, exams ${c.exams_ok}/${c.exams_ok + c.exams_failed}`,
  };
}

/** Exams passed out of those graded over 30 days. */
export async function examPassRate(em: EntityManager): Promise<KpiMeasurement> {
  const c = await counts<'passed' | 'failed'>(
    em,
    `select count(*) filter (where status = 'passed') as passed, count(*) filter (where status = 'failed') as failed
       from exams where completed_at >= now() - interval '30 days'`,
  );
  const base = {
    window: 'last 30 days',
    source: 'exams: passed / (passed + failed); errored and skipped exams not counted',
  };
  if (c.passed + c.failed === 0) return { ...base, value: null, detail: 'no exam was graded in the last 30 days' };
  return {
    ...base,
    value: percentOf(c.passed, c.passed + c.failed),
    detail: `${c.passed} of ${c.passed + c.failed} exams passed`,
  };
}

/** Reviewers' decisions over 30 days: approved / (approved + rejected). */
export async function proposalApprovalRate(em: EntityManager): Promise<KpiMeasurement> {
  const c = await counts<'approved' | 'rejected'>(
    em,
    `select count(*) filter (where review->>'decision' = 'approve') as approved, count(*) filter (where review->>'decision' = 'reject') as rejected
       from proposals where review is not null and (review->>'at')::timestamptz >= now() - interval '30 days'`,
  );
  const base = {
    window: 'last 30 days (by review time)',
    source:
      "proposals: reviewers' decisions, approved / (approved + rejected); expired proposals had no decision and are not counted",
  };
  if (c.approved + c.rejected === 0)
    return { ...base, value: null, detail: 'no proposal was reviewed in the last 30 days' };
  return {
    ...base,
    value: percentOf(c.approved, c.approved + c.rejected),
    detail: `${c.approved} approved, ${c.rejected} rejected`,
  };
}

/**
 * The lowest Krippendorff's alpha among the judge models with at least `minPairs` audited items in the window: the
 * judge whose scores the other judges confirm least (src/domain/judges.ts).
 */
export async function judgeAgreementKpi(
  em: EntityManager,
  judges: { windowDays: number; minPairs: number },
): Promise<KpiMeasurement> {
  const base = {
    window: `last ${judges.windowDays} days`,
    source: 'judge_audits: each judge model against the second judge of the same items',
  };
  const measured = (await judgeAgreement(em, judges.windowDays)).filter(
    (a) => a.pairs >= judges.minPairs && a.alpha !== null,
  );
  const lowest = measured.reduce<JudgeAgreement | undefined>(
    (low, a) => (low === undefined || (a.alpha ?? 1) < (low.alpha ?? 1) ? a : low),
    undefined,
  );
  if (lowest === undefined)
    return {
      ...base,
      value: null,
      detail: `no judge model has ${judges.minPairs} audited items with varying scores yet`,
    };
  return {
    ...base,
    value: lowest.alpha,
    detail: `${lowest.model} over ${lowest.pairs} items (mean absolute difference ${lowest.meanAbsoluteDifference?.toFixed(1)})`,
  };
}
