import { createHash } from 'node:crypto';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { Config } from '../../src/config';
import { AgentRun, Finding } from '../../src/db/entities';
import { parseBenchOutput, performanceVerdict, type PerformanceVerdict } from '../../src/domain/performance';
import { createNotification } from '../../src/notifications/create';
import type { Sandbox } from '../../src/sandbox';
import { recordRunStep, runTarget, storeRunSummary } from '../runs.activities';
import { inWorkspace, recordSetup } from '../workspace';

export interface Measurement {
  commit: string;
  source: 'bench' | 'tests';
  command: string;
  ok: boolean;
  detail: string;
  samples: Array<{ name: string } & PerformanceVerdict>;
  regressions: string[];
  backend: BackendFigures;
}

interface BackendFigures {
  llm24h: { calls: number; p95LatencyMs: number | null; costUsd: number };
  workflows24h: { exams: number; examP95Ms: number | null; agentRuns: number; agentRunP95Ms: number | null };
}

/**
 * Conquest's measurement (ARCHITECTURE §3.5): the bench command (lines of {"name","ms"}) — or, without one, the test
 * suite's duration — run in the sandbox on a workspace (a command that cannot start fails the run, TargetCommandUnavailable); each figure compared with the median of its last five;
 * a regression (> 20 % slower) becomes an open `performance` finding and a `performance_regression` notification. The
 * backend's own figures (LLM latency and cost, workflow durations) ride along. Stored on the run: a retry repeats nothing.
 */
export async function measureTarget(deps: { orm: MikroORM; config: Config; sandbox: Sandbox }, runId: string): Promise<Measurement> {
  const em = deps.orm.em.fork() as EntityManager;
  const run = await em.findOneOrFail(AgentRun, { id: runId });
  const stored = run.summary.measure as Measurement | undefined;
  if (stored !== undefined) return stored;

  const { target, repo } = await runTarget(deps.orm, deps.config);
  const source = target.benchCmd !== undefined ? 'bench' : 'tests';
  const command = target.benchCmd ?? target.testCmd;
  const { commit, result } = await inWorkspace(deps, target.path, async (ws) => {
    await recordSetup(deps.orm, runId, ws.setup);
    return { commit: ws.baseCommit, result: await ws.run(command) };
  });
  const ok = !result.timedOut && result.exitCode === 0;
  const figures = !ok ? [] : source === 'bench' ? parseBenchOutput(result.stdout) : [{ name: 'test-suite', ms: result.durationMs }];

  const samples: Measurement['samples'] = [];
  for (const figure of figures) {
    const previous = (await em.getConnection().execute(
      'select ms from performance_samples where repository_id = ? and name = ? and run_id <> ? order by at desc limit 5',
      [repo.id, figure.name, runId],
    )) as Array<{ ms: number }>;
    samples.push({ name: figure.name, ...performanceVerdict(previous.map((p) => Number(p.ms)).reverse(), figure.ms) });
    await em.getConnection().execute(
      `insert into performance_samples (repository_id, run_id, commit, name, source, ms, at) values (?, ?, ?, ?, ?, ?, now()) on conflict (run_id, name) do nothing`,
      [repo.id, runId, commit, figure.name, source, figure.ms],
      'run',
    );
  }
  const regressions = samples.filter((s) => s.regressed);
  for (const r of regressions) await recordRegression(em, { repositoryId: repo.id, runId, commit, sample: r });

  const measurement: Measurement = {
    commit,
    source,
    command,
    ok,
    detail: ok ? `${figures.length} figures` : `${result.timedOut ? 'timed out' : `exit ${result.exitCode ?? result.signal}`}: ${result.stderr.slice(-500)}`,
    samples,
    regressions: regressions.map((r) => r.name),
    backend: await backendFigures(em),
  };
  await storeRunSummary(deps.orm, runId, { measure: measurement }, { commit, repositoryId: repo.id });
  await recordRunStep(deps.orm, runId, 'measure', `${measurement.detail}; ${regressions.length} regression(s)`);
  return measurement;
}

/** One performance finding per measure and rule: the bench's `regression`, the model's `hotspot`. */
export function performanceFingerprint(rule: 'regression' | 'hotspot', measure: string): string {
  return createHash('sha256').update(`${rule === 'regression' ? 'performance' : 'performance-hotspot'}\0${measure}`).digest('hex');
}

async function recordRegression(em: EntityManager, ctx: { repositoryId: string; runId: string; commit: string; sample: Measurement['samples'][number] }): Promise<void> {
  const { sample } = ctx;
  const pct = Math.round((sample.change ?? 0) * 1000) / 10;
  const message = `${sample.name} took ${sample.currentMs.toFixed(1)} ms at ${ctx.commit.slice(0, 10)}, ${pct} % slower than the median of its last runs (${sample.baselineMs?.toFixed(1)} ms).`;
  const fingerprint = performanceFingerprint('regression', sample.name);
  let finding = await em.findOne(Finding, { repositoryId: ctx.repositoryId, fingerprint });
  if (finding === null) {
    finding = new Finding({ repositoryId: ctx.repositoryId, agentId: 'conquest', kind: 'performance', tool: 'bench', rule: 'regression', severity: pct > 100 ? 'high' : 'medium', title: `${sample.name} regressed by ${pct} %`, message, file: null, line: null, fingerprint, firstRunId: ctx.runId });
    em.persist(finding);
  } else {
    Object.assign(finding, { status: 'open', resolvedAt: null, message, title: `${sample.name} regressed by ${pct} %`, lastRunId: ctx.runId, lastSeenAt: new Date() });
  }
  finding.data = { measure: sample.name, baselineMs: sample.baselineMs, currentMs: sample.currentMs, change: sample.change, commit: ctx.commit };
  await em.flush();
  await createNotification(em, {
    kind: 'performance_regression',
    title: `Performance regression: ${sample.name} +${pct} %`,
    message,
    priority: pct > 100 ? 'high' : 'normal',
    data: { findingId: finding.id, ...finding.data },
    dedupeKey: `performance_regression:${ctx.runId}:${sample.name}`,
  });
}

async function backendFigures(em: EntityManager): Promise<BackendFigures> {
  const [llm] = (await em.getConnection().execute(
    `select count(*)::int as calls, percentile_cont(0.95) within group (order by latency_ms) as p95, coalesce(sum(cost_usd), 0)::float as cost
       from token_usage_events where at > now() - interval '24 hours' and outcome <> 'cache_hit'`,
  )) as Array<{ calls: number; p95: number | null; cost: number }>;
  const [wf] = (await em.getConnection().execute(
    `select (select count(*)::int from exams where completed_at > now() - interval '24 hours' and status in ('passed', 'failed')) as exams,
            (select percentile_cont(0.95) within group (order by extract(epoch from completed_at - started_at) * 1000) from exams
              where completed_at > now() - interval '24 hours' and status in ('passed', 'failed')) as exam_p95,
            (select count(*)::int from agent_runs where completed_at > now() - interval '24 hours' and status = 'completed') as runs,
            (select percentile_cont(0.95) within group (order by extract(epoch from completed_at - started_at) * 1000) from agent_runs
              where completed_at > now() - interval '24 hours' and status = 'completed') as run_p95`,
  )) as Array<{ exams: number; exam_p95: number | null; runs: number; run_p95: number | null }>;
  const round = (v: number | null | undefined) => (v === null || v === undefined ? null : Math.round(Number(v)));
  return {
    llm24h: { calls: llm?.calls ?? 0, p95LatencyMs: round(llm?.p95), costUsd: llm?.cost ?? 0 },
    workflows24h: { exams: wf?.exams ?? 0, examP95Ms: round(wf?.exam_p95), agentRuns: wf?.runs ?? 0, agentRunP95Ms: round(wf?.run_p95) },
  };
}
