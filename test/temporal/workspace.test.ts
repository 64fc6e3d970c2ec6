import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { EntityManager } from '@mikro-orm/postgresql';
import {
  CONQUEST_ANALYSIS_WORKFLOW,
  LEARNING_CYCLE_WORKFLOW,
  learningCycleWorkflowId,
  PROPOSAL_WORKFLOW,
  proposalWorkflowId,
  SANDBOX_EXPERIMENT_WORKFLOW,
  type ConquestAnalysisResult,
  type LearningCycleResult,
  type ProposalInput,
  type SandboxExperimentResult,
} from '../../src/contracts';
import { Agent, AgentRun, Proposal, ProposalEvent } from '../../src/db/entities';
import { startTestApi } from '../helpers/api';
import { testConfig } from '../helpers/config';
import { useLlmTestBed } from '../helpers/llm';
import { createNodeProject } from '../helpers/node-project';
import { createTestWorker, executeAgentRun } from '../helpers/worker';

jest.setTimeout(180_000);

const bed = useLlmTestBed();
const em = () => bed.orm.em.fork() as EntityManager;
let tmp: string;
let good: string;
let broken: string;
let dataDir: string;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'lvlup-workspace-runs-'));
  dataDir = path.join(tmp, 'data');
  // A user's project: a lockfile, a devDependency whose binary the test script calls, a suite that requires it.
  good = await createNodeProject(path.join(tmp, 'good'));
  broken = await createNodeProject(path.join(tmp, 'broken'), { manifest: { scripts: { test: 'nonexistent-runner' } } });
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

const DESIGNED = `'use strict';
const { test } = require('node:test');
const assert = require('node:assert/strict');
const semver = require('semver');
test('the installed dependency loads in a designed test', () => assert.equal(semver.valid('1.2.3'), '1.2.3'));
`;

async function execute<R>(
  workflow: string,
  prefix: 'conquest-analysis' | 'sandbox-experiment',
  repo: string,
  env: Record<string, string> = {},
): Promise<{ runId: string; result?: R; error?: unknown }> {
  const config = testConfig(
    bed.db.url,
    bed.fakes.env({
      LLM_PROFILE_FALLBACK: '',
      ANTHROPIC_API_KEY: '',
      DATA_DIR: dataDir,
      TARGET_REPO_PATH: repo,
      ...env,
    }),
  );
  const worker = await createTestWorker(config, bed.orm, { workflowsPath: require.resolve('../../workflows') });
  try {
    const { run, ...outcome } = await worker.run(() => executeAgentRun<R>(worker, bed.orm, workflow, prefix));
    return { runId: run.id, ...outcome };
  } finally {
    await worker.close();
  }
}

const runOf = (id: string) => em().findOneOrFail(AgentRun, { id });
const stepDetail = (run: AgentRun, step: string) => run.steps.filter((s) => s.step === step).map((s) => s.detail);

describe('on a project with dependencies', () => {
  it('runs the experiment with the dependencies installed once, then from the cache, and says so in the steps', async () => {
    bed.fakes.reset();
    bed.fakes.openai.when('You are Sandbox', {
      json: { file: 'test/semver.test.js', content: DESIGNED, rationale: 'Exercise the dependency.' },
    });
    const first = await execute<SandboxExperimentResult>(SANDBOX_EXPERIMENT_WORKFLOW, 'sandbox-experiment', good);
    expect(first.error).toBeUndefined();
    expect(first.result?.tests).toMatchObject({ ok: true, tests: 2, pass: 2, fail: 0 });
    expect(first.result?.experiment).toMatchObject({ passed: true });
    const run = await runOf(first.runId);
    expect(run.status).toBe('completed');
    expect(run.summary.setup).toMatchObject({
      manager: 'npm',
      lockfile: 'package-lock.json',
      cacheHit: false,
      command: 'npm ci --ignore-scripts',
      network: true,
    });
    expect(stepDetail(run, 'setup')).toEqual([
      expect.stringMatching(/^npm ci --ignore-scripts: installed in \d+ ms \(cache miss, with network\)$/),
    ]);
    expect(stepDetail(run, 'experiment-setup')).toEqual([
      expect.stringMatching(/^npm ci --ignore-scripts: cache hit in \d+ ms$/),
    ]);

    const second = await execute<SandboxExperimentResult>(SANDBOX_EXPERIMENT_WORKFLOW, 'sandbox-experiment', good);
    const again = await runOf(second.runId);
    expect(again.summary.setup).toMatchObject({
      cacheHit: true,
      cacheKey: (run.summary.setup as { cacheKey: string }).cacheKey,
    });
    expect(stepDetail(again, 'setup')).toEqual([expect.stringMatching(/cache hit in \d+ ms$/)]);
    const ms = (r: AgentRun) => (r.summary.setup as { durationMs: number }).durationMs;
    console.log(`experiment setup: install ${ms(run)} ms, cache hit ${ms(again)} ms`);
  });

  it('measures the suite in an analysis with the dependencies from the cache', async () => {
    bed.fakes.reset();
    bed.fakes.openai.when('You are Conquest', { json: { hotspots: [] } });
    const { runId, result, error } = await execute<ConquestAnalysisResult>(
      CONQUEST_ANALYSIS_WORKFLOW,
      'conquest-analysis',
      good,
    );
    expect(error).toBeUndefined();
    expect(result).toMatchObject({ status: 'completed', ok: true });
    // The whole suite and, from its runner's report, each test file.
    expect(result?.samples?.map((s) => s.name)).toEqual(['test-suite', 'test/version.test.js']);
    expect(stepDetail(await runOf(runId), 'setup')).toEqual([expect.stringMatching(/cache hit/)]);
  });
});

describe('when the tests cannot run', () => {
  it('ends the experiment failed with the reason, shown by the API', async () => {
    bed.fakes.reset();
    const { runId, error } = await execute<SandboxExperimentResult>(
      SANDBOX_EXPERIMENT_WORKFLOW,
      'sandbox-experiment',
      broken,
    );
    expect(error).toBeDefined();
    const run = await runOf(runId);
    expect(run.status).toBe('failed');
    expect(run.error).toMatch(
      /^TargetCommandUnavailable: "npm test" cannot start: command not found \(exit 127\): [\s\S]*nonexistent-runner: not found/,
    );
    const api = await startTestApi(testConfig(bed.db.url, { DATA_DIR: dataDir }));
    try {
      const shown = await api.request('GET', `/api/sandbox/experiments/${runId}`, { key: await api.key('viewer') });
      expect(shown.body).toMatchObject({
        status: 'failed',
        error: expect.stringContaining('TargetCommandUnavailable'),
      });
    } finally {
      await api.close();
    }
  });

  it('ends the analysis failed with the reason instead of completing without a sample', async () => {
    bed.fakes.reset();
    const { runId, error } = await execute<ConquestAnalysisResult>(
      CONQUEST_ANALYSIS_WORKFLOW,
      'conquest-analysis',
      broken,
    );
    expect(error).toBeDefined();
    expect(await runOf(runId)).toMatchObject({
      status: 'failed',
      error: expect.stringMatching(/^TargetCommandUnavailable: "npm test" cannot start/),
    });
  });

  it('ends the run failed with TargetSetupFailed when an offline install finds no package in the cache', async () => {
    bed.fakes.reset();
    const { runId } = await execute<SandboxExperimentResult>(SANDBOX_EXPERIMENT_WORKFLOW, 'sandbox-experiment', good, {
      DATA_DIR: path.join(tmp, 'empty'),
      TARGET_SETUP_NETWORK: 'false',
    });
    expect(await runOf(runId)).toMatchObject({
      status: 'failed',
      error: expect.stringMatching(
        /^TargetSetupFailed: offline install \(TARGET_SETUP_NETWORK=false\) failed: the package cache/,
      ),
    });
  });

  it('fails a proposal whose tests cannot start with the reason, without a pointless redraft', async () => {
    const diff = `--- a/src/version.js
+++ b/src/version.js
@@ -1,4 +1,5 @@
 'use strict';
+// Ranges are checked by semver.
 const semver = require('semver');
 /** Whether \`version\` satisfies the supported range. */
 exports.supported = (version) => semver.satisfies(version, '>=1.0.0');
`;
    bed.fakes.reset();
    bed.fakes.openai.when('Propose one small, safe change', {
      json: { title: 'Comment the range check', rationale: 'Clarity.', risk: 'None.', diff },
    });
    await em().nativeUpdate(Agent, {}, { status: 'active', lastPassedAt: new Date(), consecutiveFailures: 0 });
    const config = testConfig(
      bed.db.url,
      bed.fakes.env({ LLM_PROFILE_FALLBACK: '', ANTHROPIC_API_KEY: '', DATA_DIR: dataDir, TARGET_REPO_PATH: broken }),
    );
    const worker = await createTestWorker(config, bed.orm, { workflowsPath: require.resolve('../../workflows') });
    const id = randomUUID();
    const args: ProposalInput = {
      proposalId: id,
      agentId: 'sandbox',
      goal: 'Document the range check',
      trigger: 'api',
      requestedBy: 'test',
      timeouts: { llmMs: 15_000, scanMs: 120_000, dbMs: 10_000 },
    };
    try {
      await worker.run(() =>
        worker.client.workflow
          .execute(PROPOSAL_WORKFLOW, { args: [args], taskQueue: worker.taskQueue, workflowId: proposalWorkflowId(id) })
          .catch(() => undefined),
      );
    } finally {
      await worker.close();
    }
    const proposal = await em().findOneOrFail(Proposal, { id });
    expect(proposal).toMatchObject({
      status: 'failed',
      drafts: 1,
      error: expect.stringMatching(
        /^TargetCommandUnavailable: "npm test" cannot start: command not found \(exit 127\)/,
      ),
    });
    const states = (await em().find(ProposalEvent, { proposalId: id }, { orderBy: { seq: 'asc' } })).map(
      (e) => e.state,
    );
    expect(states).toEqual(['drafting', 'validating', 'testing', 'failed']);
  });
});

it('records a child whose tests cannot start as failed in the learning cycle, which still completes', async () => {
  bed.fakes.reset();
  // No lockfile and no dependencies: nothing to install (and nothing for Guardian's audit to send to a registry).
  const plain = await createNodeProject(path.join(tmp, 'cycle'), {
    lockfile: false,
    manifest: { scripts: { test: 'nonexistent-runner' }, devDependencies: {} },
  });
  const noLlm = {
    OPENAI_API_KEY: '',
    OPENAI_BASE_URL: '',
    LLM_PROFILE_PRIMARY: '',
    ANTHROPIC_API_KEY: '',
    LLM_PROFILE_FALLBACK: '',
  };
  const config = testConfig(bed.db.url, { DATA_DIR: dataDir, TARGET_REPO_PATH: plain, ...noLlm });
  const worker = await createTestWorker(config, bed.orm, { workflowsPath: require.resolve('../../workflows') });
  const workflowId = learningCycleWorkflowId(new Date());
  const timeouts = { scanMs: 120_000, llmMs: 15_000, dbMs: 10_000, childMs: 300_000 };
  let result: LearningCycleResult;
  try {
    result = await worker.run(() =>
      worker.client.workflow.execute(LEARNING_CYCLE_WORKFLOW, {
        args: [{ trigger: 'api', requestedBy: 'test', timeouts }],
        taskQueue: worker.taskQueue,
        workflowId,
      }),
    );
  } finally {
    await worker.close();
  }
  expect(result.status).toBe('completed');
  const unavailable = expect.stringMatching(
    /^TargetCommandUnavailable: "npm test" cannot start: command not found \(exit 127\)/,
  );
  expect(result.children).toEqual([
    expect.objectContaining({ agentId: 'guardian', status: 'completed' }),
    expect.objectContaining({ agentId: 'sandbox', status: 'failed', error: unavailable }),
    expect.objectContaining({ agentId: 'conquest', status: 'failed', error: unavailable }),
  ]);
  expect(await em().findOneOrFail(AgentRun, { workflowId: `${workflowId}-sandbox-experiment` })).toMatchObject({
    status: 'failed',
    error: unavailable,
  });
});
