import { createHash } from 'node:crypto';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { Config } from '../../src/config';
import { AgentRun, Finding } from '../../src/db/entities';
import {
  collectRepeats,
  parseBenchOutput,
  performanceVerdict,
  recoveredFrom,
  type PerformanceRules,
  type PerformanceVerdict,
} from '../../src/domain/performance';
import { parseFileDurations, reporterEnv, withReporter } from '../../src/domain/test-durations';
import { createNotification } from '../../src/notifications/create';
import type { Sandbox, SandboxRunResult } from '../../src/sandbox';
import type { Workspace } from '../../src/target';
import { recordRunStep, runTarget, storeRunSummary } from '../runs.activities';
import { inWorkspace, recordSetup, workspaceRunner } from '../workspace';

export interface Measurement {
  commit: string;
  source: 'bench' | 'tests';
  command: string;
  ok: boolean;
  detail: string;
  /** Per measure: this run's repeats and the verdict on their median. */
  samples: Array<{ name: string; repeats?: number[] } & PerformanceVerdict>;
  regressions: string[];
  /** Measures whose open regression finding this run resolved: back within the threshold of where they regressed from. */
  recovered?: string[];
  backend: BackendFigures;
}

interface BackendFigures {
  llm24h: { calls: number; p95LatencyMs: number | null; costUsd: number };
  workflows24h: { exams: number; examP95Ms: number | null; agentRuns: number; agentRunP95Ms: number | null };
}

/**
 * Conquest's measurement (ARCHITECTURE §3.5): the bench command (lines of {"name","ms"}) — or, without one, the test
 * suite with its runner's machine-readable report, timing the whole suite and each test file — run alone on this
 * worker (`exclusive`: no concurrent sandbox work skews the figures) CONQUEST_BENCH_REPEATS times on one workspace.
 * Each measure's median is compared with its last five samples under src/domain/performance's rules (enough baseline,
 * beyond the threshold and the measured noise); a regression becomes an open `performance` finding and a
 * `performance_regression` notification; a measure back within the threshold of where its regression began resolves
 * that finding. The backend's own figures ride along. Stored on the run: a retry repeats
 * nothing. Throws TargetSetupFailed / TargetCommandUnavailable when the command cannot run at all.
 */
export async function measureTarget(
  deps: { orm: MikroORM; config: Config; sandbox: Sandbox },
  runId: string,
): Promise<Measurement> {
  const em = deps.orm.em.fork() as EntityManager;
  const run = await em.findOneOrFail(AgentRun, { id: runId });
  const stored = run.summary.measure as Measurement | undefined;
  if (stored !== undefined) return stored;

  const { target, repo } = await runTarget(deps.orm, deps.config);
  const { commit, command, source, outcome } = await inWorkspace(deps, target.path, async (ws) => {
    await recordSetup(deps.orm, runId, ws.setup, deps.sandbox.isolation);
    const plan = await measurePlan(ws, target);
    const runs: SandboxRunResult[] = [];
    for (let i = 0; i < deps.config.conquest.benchRepeats; i++) {
      const result = await ws.run(plan.command, { exclusive: true, env: plan.env });
      runs.push(result);
      if (result.timedOut || result.exitCode !== 0) break;
    }
    return {
      commit: ws.baseCommit,
      command: plan.command,
      source: plan.source,
      outcome: { runs, figures: runs.map((r) => plan.figures(r, ws.dir)) },
    };
  });
  const failed = outcome.runs.find((r) => r.timedOut || r.exitCode !== 0);
  const ok = failed === undefined;
  const measures = ok ? collectRepeats(outcome.figures) : [];

  const samples: Measurement['samples'] = [];
  for (const measure of measures) {
    const previous = (await em
      .getConnection()
      .execute(
        'select ms, commit from performance_samples where repository_id = ? and name = ? and run_id <> ? order by at desc limit 5',
        [repo.id, measure.name, runId],
      )) as Array<{ ms: number; commit: string }>;
    const baseline = [...previous].reverse();
    const verdict = performanceVerdict(
      baseline.map((p) => Number(p.ms)),
      measure.repeats,
      deps.config.conquest,
      { current: commit, previous: baseline.map((p) => p.commit) },
    );
    samples.push({ name: measure.name, repeats: measure.repeats, ...verdict });
    await em
      .getConnection()
      .execute(
        `insert into performance_samples (repository_id, run_id, commit, name, source, ms, at) values (?, ?, ?, ?, ?, ?, now()) on conflict (run_id, name) do nothing`,
        [repo.id, runId, commit, measure.name, source, verdict.currentMs],
        'run',
      );
  }
  const regressions = samples.filter((s) => s.regressed);
  for (const r of regressions) await recordRegression(em, { repositoryId: repo.id, runId, commit, sample: r });
  const recovered = await resolveRecovered(em, {
    repositoryId: repo.id,
    runId,
    commit,
    samples: samples.filter((s) => !s.regressed),
    rules: deps.config.conquest,
  });

  const measurement: Measurement = {
    commit,
    source,
    command,
    ok,
    detail:
      failed === undefined
        ? `${measures.length} figures, ${outcome.runs.length} repeat(s) run alone`
        : `${failed.timedOut ? 'timed out' : `exit ${failed.exitCode ?? failed.signal}`}: ${failed.stderr.slice(-500)}`,
    samples,
    regressions: regressions.map((r) => r.name),
    recovered,
    backend: await backendFigures(em),
  };
  await storeRunSummary(deps.orm, runId, { measure: measurement }, { commit, repositoryId: repo.id });
  await recordRunStep(
    deps.orm,
    runId,
    'measure',
    `${measurement.detail}; ${regressions.length} regression(s)${recovered.length > 0 ? `; recovered: ${recovered.join(', ')}` : ''}`,
  );
  return measurement;
}

interface MeasurePlan {
  source: 'bench' | 'tests';
  command: string;
  env: Record<string, string>;
  figures(result: SandboxRunResult, dir: string): Array<{ name: string; ms: number }>;
}

/**
 * What to run: the bench command, or the test command with its runner's report (`npm test -- --reporter json` for
 * mocha, …) giving `test-suite` (the whole run) plus one figure per test file (ARCHITECTURE §3.5).
 */
async function measurePlan(
  ws: Workspace,
  target: { benchCmd: string | undefined; testCmd: string },
): Promise<MeasurePlan> {
  if (target.benchCmd !== undefined)
    return { source: 'bench', command: target.benchCmd, env: {}, figures: (r) => parseBenchOutput(r.stdout) };
  const runner = await workspaceRunner(ws, target.testCmd);
  const command = withReporter(target.testCmd, runner);
  return {
    source: 'tests',
    command,
    env: reporterEnv(runner),
    figures: (r, dir) => [
      { name: 'test-suite', ms: r.durationMs },
      ...parseFileDurations(runner, r.stdout, dir).map((f) => ({ name: f.file, ms: f.ms })),
    ],
  };
}

/** One performance finding per measure and rule: the bench's `regression`, the model's `hotspot`. */
export function performanceFingerprint(rule: 'regression' | 'hotspot', measure: string): string {
  return createHash('sha256')
    .update(`${rule === 'regression' ? 'performance' : 'performance-hotspot'}\0${measure}`)
    .digest('hex');
}

async function recordRegression(
  em: EntityManager,
  ctx: { repositoryId: string; runId: string; commit: string; sample: Measurement['samples'][number] },
): Promise<void> {
  const { sample } = ctx;
  const pct = Math.round((sample.change ?? 0) * 1000) / 10;
  const message = `${sample.name} at ${ctx.commit.slice(0, 10)}: ${sample.why}.`;
  const fingerprint = performanceFingerprint('regression', sample.name);
  let finding = await em.findOne(Finding, { repositoryId: ctx.repositoryId, fingerprint });
  // The episode's starting baseline, kept while the finding stays open: recovery is judged against it.
  const ongoing =
    finding?.status === 'open' && typeof finding.data.regressedFromMs === 'number'
      ? finding.data.regressedFromMs
      : null;
  if (finding === null) {
    finding = new Finding({
      repositoryId: ctx.repositoryId,
      agentId: 'conquest',
      kind: 'performance',
      tool: 'bench',
      rule: 'regression',
      severity: pct > 100 ? 'high' : 'medium',
      title: `${sample.name} regressed by ${pct} %`,
      message,
      file: null,
      line: null,
      fingerprint,
      firstRunId: ctx.runId,
    });
    em.persist(finding);
  } else {
    Object.assign(finding, {
      status: 'open',
      resolvedAt: null,
      message,
      title: `${sample.name} regressed by ${pct} %`,
      lastRunId: ctx.runId,
      lastSeenAt: new Date(),
    });
  }
  finding.data = {
    measure: sample.name,
    baselineMs: sample.baselineMs,
    regressedFromMs: ongoing ?? sample.baselineMs,
    currentMs: sample.currentMs,
    change: sample.change,
    commit: ctx.commit,
  };
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

/**
 * Resolves the open regression findings of measures measured back within the threshold of the baseline their
 * regression began from (`recoveredFrom`); the recovery (figure, commit, run) is kept on the finding. Returns their
 * measures. Keyed on the finding's status: a retry resolves nothing twice.
 */
async function resolveRecovered(
  em: EntityManager,
  ctx: {
    repositoryId: string;
    runId: string;
    commit: string;
    samples: Measurement['samples'];
    rules: Pick<PerformanceRules, 'regressionPct'>;
  },
): Promise<string[]> {
  const recovered: string[] = [];
  for (const sample of ctx.samples) {
    const finding = await em.findOne(Finding, {
      repositoryId: ctx.repositoryId,
      fingerprint: performanceFingerprint('regression', sample.name),
      status: 'open',
    });
    const from = finding?.data.regressedFromMs ?? finding?.data.baselineMs;
    if (finding === null || typeof from !== 'number' || !recoveredFrom(from, sample.currentMs, ctx.rules)) continue;
    Object.assign(finding, {
      status: 'resolved',
      resolvedAt: new Date(),
      lastRunId: ctx.runId,
      lastSeenAt: new Date(),
    });
    finding.data = {
      ...finding.data,
      recovered: { currentMs: sample.currentMs, commit: ctx.commit, runId: ctx.runId },
    };
    recovered.push(sample.name);
  }
  await em.flush();
  return recovered;
}

async function backendFigures(em: EntityManager): Promise<BackendFigures> {
  const [llm] = (await em.getConnection().execute(
    // A call whose end was never recorded (`unknown`) counts at its estimated cost but has no latency to rank.
    `select count(*)::int as calls, percentile_cont(0.95) within group (order by latency_ms) filter (where outcome <> 'unknown') as p95, coalesce(sum(cost_usd), 0)::float as cost
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
    workflows24h: {
      exams: wf?.exams ?? 0,
      examP95Ms: round(wf?.exam_p95),
      agentRuns: wf?.runs ?? 0,
      agentRunP95Ms: round(wf?.run_p95),
    },
  };
}
