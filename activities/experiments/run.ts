import { createHash } from 'node:crypto';
import { readdir, writeFile } from 'node:fs/promises';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { Config } from '../../src/config';
import { experimentDesignSchema, type ExperimentOutcome, type TestRunSummary } from '../../src/contracts';
import { AgentRun, Finding } from '../../src/db/entities';
import { parseTestCounts, type TestRunner } from '../../src/domain/test-results';
import { untrusted, withUntrustedRule, type LlmGateway } from '../../src/llm';
import type { Sandbox, SandboxRunResult } from '../../src/sandbox';
import { resolveInside, type Worktree } from '../../src/target';
import { askAgentModel } from '../llm.activities';
import { recordRunStep, runTarget, storeRunSummary } from '../runs.activities';
import { inWorkspace, recordSetup, workspaceRunner } from '../workspace';

type Deps = { orm: MikroORM; config: Config; sandbox: Sandbox; llm: LlmGateway };

/**
 * A test run's outcome with the counts read from its runner's output (node:test, mocha, jest, vitest, TAP; see
 * src/domain/test-results); counts are null when the output held none. `runner` is the one the command was detected
 * as, if known: its shape is tried first.
 */
export function summarize(run: SandboxRunResult, runner: TestRunner = 'unknown'): TestRunSummary {
  const parsed = parseTestCounts(runner, `${run.stdout}\n${run.stderr}`);
  return {
    ok: run.exitCode === 0 && !run.timedOut,
    exitCode: run.exitCode,
    timedOut: run.timedOut,
    tests: parsed?.counts.tests ?? null,
    pass: parsed?.counts.pass ?? null,
    fail: parsed?.counts.fail ?? null,
    skip: parsed?.counts.skip ?? null,
    runner: parsed?.runner ?? runner,
    isolation: run.isolation,
    durationMs: Math.round(run.durationMs),
    outputTail: `${run.stdout}\n${run.stderr}`.trim().slice(-2000),
  };
}

/**
 * The target's own test suite in the sandbox on a workspace (counts, duration, output tail), stored on the run with how
 * the dependencies got there. Throws TargetSetupFailed / TargetCommandUnavailable (non-retryable) when it cannot run.
 */
export async function runTargetTests(deps: Deps, runId: string): Promise<{ commit: string; tests: TestRunSummary }> {
  const em = deps.orm.em.fork() as EntityManager;
  const run = await em.findOneOrFail(AgentRun, { id: runId });
  const stored = run.summary.tests as TestRunSummary | undefined;
  if (stored !== undefined && run.commit !== null) return { commit: run.commit, tests: stored };
  const { target: resolved, repo } = await runTarget(deps.orm, deps.config);
  const { commit, tests } = await inWorkspace(deps, resolved.path, async (ws) => {
    await recordSetup(deps.orm, runId, ws.setup, deps.sandbox.isolation);
    return {
      commit: ws.baseCommit,
      tests: summarize(await ws.run(resolved.testCmd), await workspaceRunner(ws, resolved.testCmd)),
    };
  });
  await storeRunSummary(deps.orm, runId, { tests }, { commit, repositoryId: repo.id });
  await recordRunStep(
    deps.orm,
    runId,
    'tests',
    `${tests.pass ?? '?'} passed, ${tests.fail ?? '?'} failed in ${tests.durationMs} ms`,
  );
  return { commit, tests };
}

/**
 * Sandbox's experiment: its model writes one new test for the target; the test runs in the sandbox on a worktree; a
 * passing test that loads source modules no existing test loads becomes an `experiment` finding (its content kept for a
 * proposal). Stored on the run: a retry after success neither asks nor runs again.
 */
export async function runExperiment(deps: Deps, runId: string): Promise<ExperimentOutcome> {
  const em = deps.orm.em.fork() as EntityManager;
  const run = await em.findOneOrFail(AgentRun, { id: runId });
  const stored = run.summary.experiment as ExperimentOutcome | undefined;
  if (stored !== undefined) return stored;
  const { target: resolved, repo } = await runTarget(deps.orm, deps.config);
  const outcome = await inWorkspace(deps, resolved.path, async (wt) => {
    await recordSetup(deps.orm, runId, wt.setup, deps.sandbox.isolation, 'experiment-setup');
    const { sources, tests } = await listFiles(wt);
    const untested = Object.keys(sources).filter((f) => !Object.values(tests).some((t) => requires(t, f)));
    const design = await designTest(deps, sources, Object.keys(tests), untested);
    const file = await resolveInside(wt.dir, design.file);
    await writeFile(file, design.content);
    const result = summarize(await wt.exec(process.execPath, ['--test', design.file]), 'node:test');
    return { design, result, covers: untested.filter((f) => requires(design.content, f)) };
  });
  const findingId =
    outcome.result.ok && outcome.covers.length > 0 ? await storeExperimentFinding(em, repo.id, runId, outcome) : null;
  const experiment: ExperimentOutcome = {
    file: outcome.design.file,
    rationale: outcome.design.rationale,
    passed: outcome.result.ok,
    coversNewModules: outcome.covers,
    findingId,
    outputTail: outcome.result.outputTail,
  };
  await storeRunSummary(deps.orm, runId, { experiment });
  await recordRunStep(deps.orm, runId, 'experiment', `${experiment.file}: ${experiment.passed ? 'passed' : 'failed'}`);
  return experiment;
}

/**
 * An experiment's finding is keyed on what it is — the test file and the modules it newly covers — not on the run:
 * a repeat updates the one finding (its content, rationale and last run) and a dismissed one stays dismissed.
 */
async function storeExperimentFinding(
  em: EntityManager,
  repositoryId: string,
  runId: string,
  outcome: {
    design: { file: string; content: string; rationale: string };
    result: { tests: unknown };
    covers: string[];
  },
): Promise<string> {
  const covers = [...outcome.covers].sort();
  const fingerprint = `experiment:${createHash('sha256')
    .update(JSON.stringify([outcome.design.file, covers]))
    .digest('hex')
    .slice(0, 48)}`;
  const data = { content: outcome.design.content, covers, tests: outcome.result.tests };
  const existing = await em.findOne(Finding, { repositoryId, fingerprint });
  if (existing !== null) {
    Object.assign(existing, { message: outcome.design.rationale, data, lastRunId: runId, lastSeenAt: new Date() });
    if (existing.status === 'resolved') Object.assign(existing, { status: 'open', resolvedAt: null });
    await em.flush();
    return existing.id;
  }
  const finding = new Finding({
    repositoryId,
    agentId: 'sandbox',
    kind: 'experiment',
    tool: 'experiment',
    rule: 'new-test',
    severity: 'low',
    title: `A new passing test covers ${covers.join(', ')}`,
    message: outcome.design.rationale,
    file: outcome.design.file,
    line: null,
    fingerprint,
    firstRunId: runId,
    data,
  });
  await em.persistAndFlush(finding);
  return finding.id;
}

/** The target's `src/` and `test/` JavaScript files (up to 30 each, 8 KB each) by repository-relative path. */
export async function listFiles(
  wt: Worktree,
): Promise<{ sources: Record<string, string>; tests: Record<string, string> }> {
  const read = async (dir: string) => {
    const out: Record<string, string> = {};
    const entries = await readdir(await resolveInside(wt.dir, dir)).catch(() => [] as string[]);
    for (const name of entries.filter((n) => n.endsWith('.js')).slice(0, 30))
      out[`${dir}/${name}`] = (await wt.read(`${dir}/${name}`)).slice(0, 8000);
    return out;
  };
  return { sources: await read('src'), tests: await read('test') };
}

/** Whether `code` (a test file) loads the source module `file` (`src/x.js`), directly by a relative require. */
function requires(code: string, file: string): boolean {
  const base = file.replace(/^src\//, '').replace(/\.js$/, '');
  return new RegExp(`require\\(['"]\\.\\./src/${base}(\\.js)?['"]\\)`).test(code);
}

async function designTest(
  deps: Pick<Deps, 'orm' | 'llm'>,
  sources: Record<string, string>,
  testFiles: string[],
  untested: string[],
) {
  const result = await askAgentModel(deps, {
    agentId: 'sandbox',
    purpose: 'sandbox.experiment',
    schema: experimentDesignSchema,
    schemaName: 'experiment',
    messages: [
      {
        role: 'system',
        content: withUntrustedRule(
          'You are Sandbox, the experiments agent. Design one new automated test (node:test and node:assert/strict, CommonJS, no dependencies) that adds coverage to the target. It must pass against the current code.',
        ),
      },
      {
        role: 'user',
        content:
          `Existing tests:\n${untrusted('test files of the repository', testFiles.join(', ') || 'none')}\nModules no test loads:\n${untrusted('source modules of the repository', untested.join(', ') || 'none')}\n` +
          `Sources:\n${Object.entries(sources)
            .map(([f, c]) => untrusted(`file ${f}`, c))
            .join('\n')}`,
      },
    ],
    maxTokens: 3000,
    temperature: 0.2,
    cacheTtlSeconds: 0,
  });
  return result.output;
}
