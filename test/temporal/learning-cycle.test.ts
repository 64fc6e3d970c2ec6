import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { EntityManager } from '@mikro-orm/postgresql';
import { ApplicationFailure } from '@temporalio/common';
import {
  LEARNING_CYCLE_WORKFLOW,
  learningCycleWorkflowId,
  proposalWorkflowId,
  type CyclePlan,
  type LearningCycleInput,
  type LearningCycleResult,
} from '../../src/contracts';
import { Agent, AgentRun, Finding, KnowledgeNote, Notification, Proposal } from '../../src/db/entities';
import type { Config } from '../../src/config';
import type { FakeReply, FakeRequest } from '../fakes/llm-servers';
import { git } from '../../src/target';
import { startTestApi } from '../helpers/api';
import { testConfig } from '../helpers/config';
import { recordHistory } from '../helpers/histories';
import { untrustedContent, useLlmTestBed } from '../helpers/llm';
import { createTestWorker } from '../helpers/worker';
import type { Activities } from '../../activities';

// A cycle runs a scan, the target's tests and its benchmark in the sandbox: minutes on a loaded 2-core machine.
jest.setTimeout(300_000);

const bed = useLlmTestBed();
const em = () => bed.orm.em.fork() as EntityManager;
let dataDir: string;
beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'lvlup-cycle-'));
});
afterAll(() => rm(dataDir, { recursive: true, force: true }));
afterEach(async () => {
  await em().nativeUpdate(Agent, {}, { status: 'active', statusReason: null });
});

const NO_LLM = {
  OPENAI_API_KEY: '',
  OPENAI_BASE_URL: '',
  LLM_PROFILE_PRIMARY: '',
  ANTHROPIC_API_KEY: '',
  LLM_PROFILE_FALLBACK: '',
};
const SHORT: LearningCycleInput['timeouts'] = { scanMs: 120_000, llmMs: 15_000, dbMs: 10_000, childMs: 300_000 };

async function cycle(
  opts: { env?: Record<string, string>; workflows?: string; faults?: Partial<Activities> } = {},
): Promise<{ workflowId: string; result: Promise<LearningCycleResult>; taskQueue: string; config: Config }> {
  const config = testConfig(
    bed.db.url,
    bed.fakes.env({ LLM_PROFILE_FALLBACK: '', ANTHROPIC_API_KEY: '', DATA_DIR: dataDir, ...opts.env }),
  );
  const worker = await createTestWorker(config, bed.orm, {
    workflowsPath: opts.workflows ?? require.resolve('../../workflows'),
    faults: opts.faults,
  });
  const workflowId = learningCycleWorkflowId(new Date());
  const input: LearningCycleInput = { trigger: 'api', requestedBy: 'test', timeouts: SHORT };
  const result = worker
    .run(() =>
      worker.client.workflow.execute(LEARNING_CYCLE_WORKFLOW, {
        args: [input],
        taskQueue: worker.taskQueue,
        workflowId,
      }),
    )
    .finally(() => worker.close());
  return { workflowId, result, taskQueue: worker.taskQueue, config };
}

const PLAN = {
  agents: [
    {
      agentId: 'guardian',
      topics: [
        {
          title: 'Parameterised SQL queries in node-postgres',
          category: 'security_awareness',
          why: 'open SQL injection finding',
        },
      ],
    },
    {
      agentId: 'imperium',
      topics: [
        { title: 'Coordinating parallel agent work', category: 'cross_ai_collaboration', why: 'weakest category' },
      ],
    },
  ],
};

/** Each agent's study cites what it was shown — plus one finding id it was not shown, which must be dropped. */
function studyReply(req: FakeRequest): FakeReply {
  const agent = /You are (\w+)\./.exec(req.prompt)?.[1] ?? 'Unknown';
  const material = JSON.parse(untrustedContent(req.prompt, 'study material')) as {
    topics: Array<{ title: string }>;
    findings: Array<{ id: string }>;
    run?: string;
  };
  const sources = [
    ...material.topics.slice(0, 1).map((t) => ({ kind: 'topic', ref: t.title })),
    ...material.findings.slice(0, 1).map((f) => ({ kind: 'finding', ref: f.id })),
    ...(material.run ? [{ kind: 'run', ref: material.run }] : []),
    { kind: 'finding', ref: '00000000-0000-4000-8000-000000000000' },
  ];
  return {
    json: {
      notes: [
        {
          title: `${agent} study note on the example target`,
          body: `${agent} learned: build SQL with placeholders, never with template literals, and keep secrets out of source.`,
          category: null,
          sources,
        },
      ],
    },
  };
}

it('runs a full learning cycle: model plan, three children, notes with sources, analytics, steps with cost, a summary', async () => {
  bed.fakes.reset();
  bed.fakes.openai.when('Study: write', studyReply);
  bed.fakes.openai.when('Plan this learning cycle', { json: PLAN });
  bed.fakes.openai.when('Triage static-analysis', (req) => ({
    json: {
      findings: [...req.prompt.matchAll(/"id": "([0-9a-f-]{36})"/g)].map((m) => ({
        id: m[1],
        verdict: 'needs_review',
        severity: 'medium',
        explanation: 'check it',
      })),
    },
  }));
  bed.fakes.openai.when('You are Sandbox', {
    json: {
      file: 'test/format.test.js',
      content:
        "'use strict';\nconst { test } = require('node:test');\nconst assert = require('node:assert/strict');\nconst { truncate } = require('../src/format');\ntest('t', () => assert.equal(truncate('abc', 10), 'abc'));\n",
      rationale: 'untested module',
    },
  });
  bed.fakes.openai.when('You are Conquest', { json: { hotspots: [] } });
  const headBefore = await git(path.join(dataDir, 'target'), ['rev-parse', 'HEAD']).catch(() => null);
  // A reviewer rejected one of Guardian's proposals earlier: the plan is made with that comment in view.
  const rejected = new Proposal({
    workflowId: `proposal-${Date.now()}`,
    agentId: 'guardian',
    findingId: null,
    goal: 'escape names',
    trigger: 'api',
    requestedBy: 'test',
  });
  Object.assign(rejected, {
    status: 'rejected',
    title: 'Escape names by hand',
    completedAt: new Date(),
    review: {
      decision: 'reject',
      reviewer: 'ops',
      comment: 'Hand-rolled escaping again; learn parameterised queries.',
      at: new Date().toISOString(),
    },
  });
  await em().persistAndFlush(rejected);

  const { workflowId, result: pending } = await cycle();
  const result = await pending;
  expect(bed.fakes.openai.requests.find((r) => r.prompt.includes('Plan this learning cycle'))?.prompt).toContain(
    'learn parameterised queries',
  );

  expect(result.status).toBe('completed');
  expect(result.plan).toMatchObject({ planner: 'model' });
  const guardianPlan = result.plan?.agents.find((a) => a.agentId === 'guardian');
  expect(guardianPlan?.topics.map((t) => t.title)).toEqual(['Parameterised SQL queries in node-postgres']);
  // The model left Sandbox and Conquest out: they study their weakest categories.
  expect(result.plan?.agents.find((a) => a.agentId === 'sandbox')?.topics.length).toBe(2);
  expect(result.children?.map((c) => [c.agentId, c.status, c.workflowId])).toEqual([
    ['guardian', 'completed', `${workflowId}-guardian-scan`],
    ['sandbox', 'completed', `${workflowId}-sandbox-experiment`],
    ['conquest', 'completed', `${workflowId}-conquest-analysis`],
  ]);
  const childRuns = await em().find(AgentRun, { workflowId: { $like: `${workflowId}-%` } });
  expect(childRuns.map((r) => r.trigger)).toEqual(['cycle', 'cycle', 'cycle']);

  // Four agents studied, one note each, with the cycle, topic, finding and run as sources; the unknown finding dropped.
  expect(result.study?.map((s) => [s.agentId, s.notes]).sort()).toEqual([
    ['conquest', 1],
    ['guardian', 1],
    ['imperium', 1],
    ['sandbox', 1],
  ]);
  const guardianNote = await em().findOneOrFail(KnowledgeNote, { agentId: 'guardian' });
  const guardianRun = childRuns.find((r) => r.agentId === 'guardian');
  expect(guardianNote.sources).toEqual([
    { kind: 'cycle', ref: workflowId },
    { kind: 'topic', ref: 'Parameterised SQL queries in node-postgres' },
    { kind: 'finding', ref: expect.stringMatching(/^[0-9a-f-]{36}$/) },
    { kind: 'run', ref: guardianRun?.id },
  ]);
  expect(guardianNote.sources.some((s) => s.ref === '00000000-0000-4000-8000-000000000000')).toBe(false);

  // Every step is on the cycle's row with its timing and the ledger's tokens and cost.
  const run = await em().findOneOrFail(AgentRun, { workflowId });
  expect(run).toMatchObject({ kind: 'learning_cycle', agentId: 'imperium', status: 'completed', requestedBy: 'test' });
  const steps = run.steps as Array<{
    step: string;
    durationMs?: number;
    outcome?: string;
    calls?: number;
    costUsd?: number;
  }>;
  expect(steps.map((s) => s.step)).toEqual([
    'begin',
    'plan',
    'children',
    'study',
    'analytics',
    'propose',
    'notify',
    'completed',
  ]);
  const byName = Object.fromEntries(steps.map((s) => [s.step, s]));
  expect(byName.plan).toMatchObject({ outcome: 'ok', calls: 1 });
  expect(byName.study).toMatchObject({ outcome: 'ok', calls: 4 });
  expect(byName.study?.costUsd).toBeGreaterThan(0);
  expect(byName.children?.calls).toBeGreaterThanOrEqual(2); // triage, experiment design (and Conquest's explanation)
  expect(byName.propose).toMatchObject({ outcome: 'skipped' });
  for (const s of steps.slice(1, -1)) expect(s.durationMs).toBeGreaterThanOrEqual(0);
  expect(result.usage?.calls).toBe(
    (byName.plan?.calls ?? 0) + (byName.children?.calls ?? 0) + (byName.study?.calls ?? 0),
  );
  const analytics = run.summary.analytics as {
    agents: Array<{ agentId: string; openFindings: number; cycleUsage: { calls: number } }>;
  };
  expect(analytics.agents.find((a) => a.agentId === 'guardian')?.openFindings).toBeGreaterThan(0);
  expect(analytics.agents.find((a) => a.agentId === 'imperium')?.cycleUsage.calls).toBe(2);

  const summary = await em().findOneOrFail(Notification, { kind: 'cycle_completed' });
  expect(summary.title).toMatch(/4 knowledge notes, 0 failed/);
  expect(await em().count(Notification, { kind: 'cycle_failed' })).toBe(0);
  await recordHistory(workflowId, 'learning-cycle');

  // Nothing touched the target's branch.
  const target = path.join(dataDir, 'target');
  expect(await git(target, ['status', '--porcelain'])).toBe('');
  if (headBefore !== null) expect(await git(target, ['rev-parse', 'HEAD'])).toBe(headBefore);

  const api = await startTestApi(testConfig(bed.db.url, { DATA_DIR: dataDir }));
  try {
    const viewer = await api.key('viewer');
    const list = await api.request('GET', '/api/imperium/cycles', { key: viewer });
    expect(list.body).toMatchObject({ items: [{ workflowId, status: 'completed' }], page: { total: 1 } });
    const one = await api.request('GET', `/api/imperium/cycles/${encodeURIComponent(workflowId)}`, { key: viewer });
    expect(one.body).toMatchObject({
      id: run.id,
      kind: 'learning_cycle',
      summary: { usage: { calls: result.usage?.calls } },
    });
    const notes = await api.request('GET', '/api/imperium/knowledge?agent=guardian&q=placeholders', { key: viewer });
    expect(notes.body).toMatchObject({ items: [{ id: guardianNote.id }] });
    expect((await api.request('GET', '/api/imperium/cycles/nope', { key: viewer })).status).toBe(404);
  } finally {
    await api.close();
  }
});

it('records a failing child and a paused agent while the cycle completes, plans without a model, and starts a proposal', async () => {
  bed.fakes.reset();
  await em().nativeUpdate(Agent, { id: 'sandbox' }, { status: 'paused', statusReason: 'maintenance' });
  // Guardian passed an exam an hour ago: eligible, with open findings from the first test's scan.
  await em().nativeUpdate(Agent, { id: 'guardian' }, { lastPassedAt: new Date(Date.now() - 3_600_000) });
  const notesBefore = await em().count(KnowledgeNote, {});

  const {
    workflowId,
    result: pending,
    taskQueue,
    config,
  } = await cycle({ env: NO_LLM, workflows: require.resolve('../fixtures/cycle.workflows') });
  const result = await pending;

  expect(result.status).toBe('completed');
  expect(result.plan).toMatchObject({
    planner: 'weakest_categories',
    plannerUnavailable: expect.stringMatching(/LlmNotConfigured/),
  });
  const plan = result.plan as CyclePlan;
  expect(plan.agents.find((a) => a.agentId === 'sandbox')).toMatchObject({ status: 'paused', topics: [] });
  expect(plan.agents.find((a) => a.agentId === 'conquest')?.topics.map((t) => t.category)).toHaveLength(2);
  expect(result.children).toEqual([
    expect.objectContaining({ agentId: 'guardian', status: 'completed' }),
    expect.objectContaining({ agentId: 'sandbox', status: 'skipped' }),
    expect.objectContaining({
      agentId: 'conquest',
      status: 'failed',
      error: expect.stringMatching(/InjectedFailure: benchmark host unreachable/),
    }),
  ]);
  // Without a model nobody studies; the paused agent is not even asked.
  expect(result.study?.map((s) => s.agentId).sort()).toEqual(['conquest', 'guardian', 'imperium']);
  expect(result.study?.every((s) => s.notes === 0 && /LlmNotConfigured/.test(s.unavailable ?? ''))).toBe(true);
  expect(await em().count(KnowledgeNote, {})).toBe(notesBefore);

  const run = await em().findOneOrFail(AgentRun, { workflowId });
  expect(run.status).toBe('completed');
  const steps = run.steps as Array<{ step: string; outcome?: string }>;
  expect(steps.find((s) => s.step === 'plan')?.outcome).toBe('partial');
  expect(steps.find((s) => s.step === 'children')?.outcome).toBe('partial');
  expect(steps.find((s) => s.step === 'study')?.outcome).toBe('failed');
  expect((await em().findOneOrFail(AgentRun, { workflowId: `${workflowId}-sandbox-experiment` })).status).toBe(
    'skipped',
  );
  const summary = await em().findOneOrFail(Notification, { kind: 'cycle_completed', data: { workflowId } });
  expect(summary).toMatchObject({ priority: 'normal', title: expect.stringMatching(/1 failed child/) });
  expect(summary.message).toMatch(/conquest failed \(InjectedFailure/);

  // Guardian's most severe open finding became a proposal that outlives the cycle; with no model to draft it fails, recorded.
  expect(result.proposals?.started).toHaveLength(1);
  expect(result.proposals?.candidates.find((c) => c.agentId === 'guardian')).toMatchObject({
    eligible: true,
    findingId: expect.any(String),
  });
  const proposalId = result.proposals?.started[0] ?? '';
  const worker = await createTestWorker(config, bed.orm, {
    workflowsPath: require.resolve('../../workflows'),
    taskQueue,
  });
  await worker.run(() =>
    worker.client.workflow
      .getHandle(proposalWorkflowId(proposalId))
      .result()
      .catch(() => undefined),
  );
  await worker.close();
  const proposal = await em().findOne(Proposal, { id: proposalId });
  const finding = await em().findOneOrFail(Finding, { id: proposal?.findingId ?? '' });
  expect(proposal).toMatchObject({
    agentId: 'guardian',
    trigger: 'cycle',
    status: 'failed',
    error: expect.stringMatching(/LlmNotConfigured/),
  });
  expect(finding).toMatchObject({ agentId: 'guardian', severity: 'critical', status: 'open' });
});

it('records a cycle that fails as failed and notifies cycle_failed', async () => {
  bed.fakes.reset();
  const { workflowId, result } = await cycle({
    env: NO_LLM,
    workflows: require.resolve('../fixtures/cycle.workflows'),
    // The plan's store fails for good: the cycle fails before its children start.
    faults: {
      cyclePlanWithoutModel: () =>
        Promise.reject(ApplicationFailure.nonRetryable('knowledge store unreachable', 'InjectedFailure')),
    },
  });
  await expect(result).rejects.toThrow();
  const run = await em().findOneOrFail(AgentRun, { workflowId });
  expect(run).toMatchObject({ status: 'failed', error: expect.stringMatching(/knowledge store unreachable/) });
  const failed = await em().findOneOrFail(Notification, { kind: 'cycle_failed', data: { workflowId } });
  expect(failed).toMatchObject({ priority: 'high', message: expect.stringMatching(/knowledge store unreachable/) });
  expect(await em().count(AgentRun, { workflowId: { $like: `${workflowId}-%` } })).toBe(0);
});

it('skips the whole cycle while Imperium is paused', async () => {
  await em().nativeUpdate(Agent, { id: 'imperium' }, { status: 'paused', statusReason: 'holiday' });
  const { workflowId, result } = await cycle({ env: NO_LLM });
  expect(await result).toMatchObject({ status: 'skipped' });
  expect(await em().findOneOrFail(AgentRun, { workflowId })).toMatchObject({
    status: 'skipped',
    error: 'agent imperium is paused: holiday',
  });
  expect(await em().count(AgentRun, { workflowId: { $like: `${workflowId}-%` } })).toBe(0);
});
