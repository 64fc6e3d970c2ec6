import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Browser, Page } from 'playwright-core';
import { runTarget } from '../../activities/runs.activities';
import type { Config } from '../../src/config';
import { proposalWorkflowId } from '../../src/contracts';
import { Agent, AgentRun, Exam, Notification, Proposal } from '../../src/db/entities';
import { startTestApi, type TestApi } from '../helpers/api';
import { launchConsoleBrowser, screenshot, signIn as signInAs } from '../helpers/browser';
import { testConfig } from '../helpers/config';
import { triageAllTruePositive, useLlmTestBed } from '../helpers/llm';
import { exampleTargetFix } from '../helpers/proposals';
import { createTestWorker, type TestWorker } from '../helpers/worker';

// The console's actions, driven in chromium against the real API and a real Temporal worker with fake LLMs: start
// each kind of work where it is shown, follow it live to its outcome, filters, the unread badge, a viewer's view.
jest.setTimeout(240_000);

const bed = useLlmTestBed();
const em = () => bed.orm.em.fork() as EntityManager;
const TASK_QUEUE = `console-actions-${randomBytes(4).toString('hex')}`;
const TEMPORAL_UI = 'http://temporal-ui.test:8080';
const RUBRIC = [{ name: 'accuracy', weight: 1, description: 'Is it correct?' }];
let dataDir: string;
let config: Config;
let worker: TestWorker;
let api: TestApi;
let browser: Browser;
let operator: string;
let viewer: string;

beforeAll(async () => {
  browser = await launchConsoleBrowser();
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'lvlup-console-actions-'));
  config = testConfig(
    bed.db.url,
    bed.fakes.env({
      LLM_PROFILE_FALLBACK: '',
      ANTHROPIC_API_KEY: '',
      DATA_DIR: dataDir,
      TEMPORAL_TASK_QUEUE: TASK_QUEUE,
      TEMPORAL_UI_URL: TEMPORAL_UI,
      RATE_LIMIT_MAX: '10000',
      LLM_TIMEOUT_SECONDS: '20',
    }),
  );
  worker = await createTestWorker(config, bed.orm, {
    workflowsPath: require.resolve('../../workflows'),
    taskQueue: TASK_QUEUE,
  });
  worker.start();
  api = await startTestApi(config);
  operator = await api.key('operator', 'console-operator');
  viewer = await api.key('viewer', 'console-viewer');
  await runTarget(bed.orm, config); // the example target, cloned once for every run below
  scriptModels();
});

afterAll(async () => {
  await browser?.close();
  await api?.close();
  await worker?.close();
  if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
});

/** Every model call the runs make, answered by the fake OpenAI (the first marker a prompt contains wins); the exam's calls take a moment, so its progress is seen live. */
function scriptModels(): void {
  bed.fakes.reset();
  bed.fakes.openai.when('rigorous examiner', (req) => ({
    json: {
      items: Array.from({ length: Number(/Write (\d+) exam item/.exec(req.prompt)?.[1] ?? 3) }, (_, i) => ({
        kind: 'open',
        prompt: `Question ${i} ${randomUUID()} about the topic.`,
        rubric: RUBRIC,
      })),
    },
    delayMs: 700,
  }));
  bed.fakes.openai.when('You are taking an exam', { text: 'A careful answer.', delayMs: 300 });
  bed.fakes.openai.when('strict, fair judge', {
    json: { criteria: [{ id: 'c1', score: 9, reason: 'right' }] },
    delayMs: 200,
  });
  bed.fakes.openai.when('Plan this learning cycle', {
    json: {
      agents: [
        {
          agentId: 'imperium',
          topics: [
            { title: 'Coordinating parallel agent work', category: 'cross_ai_collaboration', why: 'weakest category' },
          ],
        },
      ],
    },
  });
  bed.fakes.openai.when('Study: write', {
    json: {
      notes: [
        {
          title: 'A study note from the console test',
          body: 'Start work where it is shown and follow it to its end.',
          category: null,
          sources: [],
        },
      ],
    },
  });
  bed.fakes.openai.when('You are Guardian', triageAllTruePositive);
  bed.fakes.openai.when('You are Sandbox', {
    json: {
      file: 'test/format.test.js',
      content:
        "'use strict';\nconst { test } = require('node:test');\nconst assert = require('node:assert/strict');\nconst { truncate } = require('../src/format');\ntest('t', () => assert.equal(truncate('abc', 10), 'abc'));\n",
      rationale: 'untested module',
    },
  });
  bed.fakes.openai.when('You are Conquest', { json: { hotspots: [] } });
}

const signIn = (key: string) => signInAs(browser, api.url, key);
// (chromium logs a refused request, "Failed to load resource: … status of 409", as a console error: the tests that
// provoke one leave that line out of the errors they check.)

/**
 * Submits the start form `action` (the one `within` that element) and follows what the console shows: the workflow
 * id, a progress step while the workflow is RUNNING (live, over SSE), then the final state, the Temporal UI link;
 * answers the workflow id.
 */
async function startAndFollow(
  page: Page,
  action: string,
  opts: { within?: string; timeout?: number; quick?: boolean } = {},
): Promise<string> {
  const form = `${opts.within ?? 'main'} form[data-action="${action}"]`;
  const final = 'completed';
  await page.click(`${form} button[type=submit]`);
  // A step seen while the workflow is RUNNING: progress arrived live, before the end. (A `quick` workflow may end
  // before the stream's first poll: its progress then comes with the end.)
  await page.waitForSelector(`${form} .run${opts.quick ? '' : '[data-state="running"]'} .progress .step`, {
    timeout: 30_000,
  });
  await page.waitForSelector(`${form} .run:not([data-state="running"])`, { timeout: opts.timeout ?? 150_000 });
  const run = page.locator(`${form} .run`);
  expect(await run.getAttribute('data-state')).toBe(final);
  const workflowId = (await run.getAttribute('data-workflow-id')) ?? '';
  expect(await run.locator('code.workflow-id').textContent()).toBe(workflowId);
  expect(await run.locator('a.wf').getAttribute('href')).toBe(
    `${TEMPORAL_UI}/namespaces/${config.temporal.namespace}/workflows/${encodeURIComponent(workflowId)}`,
  );
  expect(await run.locator('.outcome h3').textContent()).toContain(`Outcome: ${final}`);
  expect(await page.locator(`${form} [role=alert]`).textContent()).toBe('');
  return workflowId;
}

it('starts an exam from the empty Exams page and follows it live to its outcome, linked to Temporal and to the exam', async () => {
  const { page, errors } = await signIn(operator);
  await page.click('nav a[href="#/exams"]');
  await page.waitForSelector('.empty-state h2:has-text("No exam yet — start one")');
  await page.selectOption('form[data-action="start-exam"] select[name=agentId]', 'imperium');
  await page.selectOption('form[data-action="start-exam"] select[name=category]', 'self_improvement');
  const workflowId = await startAndFollow(page, 'start-exam');
  expect(workflowId).toMatch(/^custody-imperium-/);
  expect(await page.textContent('form[data-action="start-exam"] .outcome dd[data-field="status"]')).toBe('passed');
  await screenshot(page, 'console-actions-exam');
  expect(await page.getAttribute('form[data-action="start-exam"] a.exam-link', 'href')).toBe(
    `#/exams/${encodeURIComponent(workflowId)}`,
  );
  await page.click('button.refresh');
  await page.waitForSelector(`main table a.wf[href$="${workflowId}"]`);
  expect(await page.locator('main details.start-card form[data-action="start-exam"]').count()).toBe(1); // no longer empty: the form above the list
  expect(await em().findOneOrFail(Exam, { workflowId })).toMatchObject({
    agentId: 'imperium',
    category: 'self_improvement',
    status: 'passed',
    requestedBy: 'console-operator',
  });
  await page.click('main table tbody tr a[href^="#/exams/"]');
  await page.waitForSelector('main h1:has-text("imperium · self_improvement")');
  expect(errors).toEqual([]);
  await page.context().close();
});

it("starts an exam from an agent's card with a category among the agent's own", async () => {
  const { page, errors } = await signIn(operator);
  const card = 'article.agent[data-agent="guardian"]';
  await page.waitForSelector(`${card} summary:has-text("No exam yet")`);
  const options = await page
    .locator(`${card} select[name=category] option`)
    .evaluateAll((os) => os.map((o) => o.getAttribute('value')));
  expect(options).toEqual(['', 'security_awareness', 'code_quality', 'performance_optimization']);
  expect(await page.locator(`${card} select[name=agentId]`).count()).toBe(0);
  await page.selectOption(`${card} select[name=category]`, 'security_awareness');
  const workflowId = await startAndFollow(page, 'start-exam', { within: card });
  expect(workflowId).toMatch(/^custody-guardian-/);
  await screenshot(page, 'console-actions-agent-exam');
  expect(await em().findOneOrFail(Exam, { workflowId })).toMatchObject({
    agentId: 'guardian',
    category: 'security_awareness',
    status: 'passed',
  });
  expect(errors).toEqual([]);
  await page.context().close();
});

it('narrows the exam list with the filter form (agent, category, status, Olympus), kept in the URL and sent to the API', async () => {
  await em().execute(
    `insert into exams (id, workflow_id, agent_id, category, difficulty, olympus, exam_number, pass_mark, time_limit_seconds, item_count, trigger, status, steps, borderline, started_at, completed_at)
     values (?, ?, 'sandbox', 'code_quality', 'legendary', true, 9, 90, 3600, 5, 'api', 'error', '[]', false, now(), now())`,
    [randomUUID(), `custody-sandbox-olympus-${randomUUID()}`],
  );
  const { page, errors } = await signIn(viewer);
  await page.click('nav a[href="#/exams"]');
  await page.waitForSelector('main table tbody tr');
  expect(await page.locator('main table tbody tr').count()).toBe(3);
  const filters = 'form.exam-filters';
  await page.selectOption(`${filters} select[name=agentId]`, 'guardian');
  await page.click(`${filters} button[type=submit]`);
  await page.waitForFunction('location.hash === "#/exams?agentId=guardian"');
  await page.waitForSelector('main table tbody tr:has-text("security_awareness")');
  expect(await page.locator('main table tbody tr').allTextContents()).toEqual([expect.stringContaining('guardian')]);
  expect(await page.inputValue(`${filters} select[name=agentId]`)).toBe('guardian');

  await page.selectOption(`${filters} select[name=agentId]`, '');
  await page.selectOption(`${filters} select[name=olympus]`, 'true');
  await page.click(`${filters} button[type=submit]`);
  await page.waitForFunction('location.hash === "#/exams?olympus=true"');
  await page.waitForSelector('main table tbody tr:has-text("(Olympus)")');
  expect(await page.locator('main table tbody tr').count()).toBe(1);

  // A shared link with every filter opens the same narrowed list; one that matches nothing says so.
  await page.goto(`${api.url}/#/exams?agentId=imperium&category=self_improvement&status=passed&olympus=false`);
  await page.waitForSelector('main table tbody tr:has-text("imperium")');
  expect(await page.locator('main table tbody tr').count()).toBe(1);
  expect(await page.inputValue(`${filters} select[name=status]`)).toBe('passed');
  await page.goto(`${api.url}/#/exams?agentId=conquest`);
  await page.waitForSelector('main p:has-text("No exam matches these filters.")');
  await screenshot(page, 'console-actions-exam-filters');
  // The viewer sees the reason instead of a start control.
  expect(await page.locator('form[data-action="start-exam"]').count()).toBe(0);
  expect(await page.textContent('.needs-operator[data-action="start-exam"]')).toContain(
    'needs an operator key; you are signed in as viewer',
  );
  // …and so on every page with a start control: no form, the reason instead.
  for (const [route, action] of [
    ['#/agents', 'start-exam'],
    ['#/scans', 'start-scan'],
    ['#/experiments', 'start-experiment'],
    ['#/analyses', 'start-analysis'],
    ['#/cycles', 'start-cycle'],
    ['#/notifications', 'weekly-report'],
  ]) {
    await page.click(`nav a[href="${route}"]`);
    await page.waitForSelector(`main .needs-operator[data-action="${action}"]`, { state: 'attached' });
    expect({ route, forms: await page.locator('main form.start-form').count() }).toEqual({ route, forms: 0 });
  }
  expect(errors).toEqual([]);
  await page.context().close();
});

describe.each([
  {
    route: '#/scans',
    action: 'start-scan',
    empty: 'No scan yet — start a scan',
    kind: 'guardian_scan',
    prefix: 'guardian-scan-',
  },
  {
    route: '#/experiments',
    action: 'start-experiment',
    empty: 'No experiment yet — start an experiment',
    kind: 'sandbox_experiment',
    prefix: 'sandbox-experiment-',
  },
  {
    route: '#/analyses',
    action: 'start-analysis',
    empty: 'No analysis yet — start an analysis',
    kind: 'conquest_analysis',
    prefix: 'conquest-analysis-',
  },
] as const)('$route', ({ route, action, empty, kind, prefix }) => {
  it('starts the run from its empty page, follows it live to its outcome, then shows it in the list', async () => {
    const { page, errors } = await signIn(operator);
    await page.click(`nav a[href="${route}"]`);
    await page.waitForSelector(`.empty-state h2:has-text("${empty}")`);
    const workflowId = await startAndFollow(page, action);
    expect(workflowId.startsWith(prefix)).toBe(true);
    // What the run recorded, under the outcome: its status and its summary.
    await page.waitForSelector(
      `form[data-action="${action}"] .outcome .recorded-run[data-status="completed"] dl.fields-list dd`,
    );
    await screenshot(page, `console-actions-${action}`);
    expect(await em().findOneOrFail(AgentRun, { workflowId })).toMatchObject({
      kind,
      status: 'completed',
      trigger: 'api',
      requestedBy: 'console-operator',
    });
    await page.click('button.refresh');
    await page.waitForSelector(`main table a.wf[href$="${workflowId}"]`);
    expect(await page.locator('main table tbody tr').count()).toBe(1);
    expect(errors).toEqual([]);
    await page.context().close();
  });
});

it('shows a refusal (409: the agent is paused) in plain words, then starts a learning cycle that records its paused agents', async () => {
  for (const agent of ['guardian', 'sandbox', 'conquest']) {
    expect(
      (
        await api.request('POST', `/api/agents/${agent}/pause`, {
          key: operator,
          body: { reason: 'console test: a quick cycle' },
        })
      ).status,
    ).toBe(200);
  }
  try {
    const { page, errors } = await signIn(operator);
    await page.click('nav a[href="#/scans"]');
    await page.click('form[data-action="start-scan"] button[type=submit]');
    await page.waitForSelector('form[data-action="start-scan"] [role=alert]:has-text("agent guardian is paused")');
    expect(await page.textContent('form[data-action="start-scan"] [role=alert]')).toMatch(
      /^Not started — it conflicts with what is running: agent guardian is paused\. /,
    );
    expect(await page.locator('form[data-action="start-scan"] .run').count()).toBe(0);
    await screenshot(page, 'console-actions-409');

    await page.click('nav a[href="#/cycles"]');
    await page.waitForSelector('.empty-state h2:has-text("No cycle yet — start a learning cycle")');
    const workflowId = await startAndFollow(page, 'start-cycle');
    expect(workflowId).toMatch(/^learning-cycle-/);
    await screenshot(page, 'console-actions-cycle');
    expect(await em().findOneOrFail(AgentRun, { workflowId })).toMatchObject({
      kind: 'learning_cycle',
      status: 'completed',
      requestedBy: 'console-operator',
    });
    expect(errors.filter((e) => !e.includes('status of 409'))).toEqual([]);
    await page.context().close();
  } finally {
    await em().nativeUpdate(Agent, {}, { status: 'active', statusReason: null });
  }
});

it('generates a weekly report (a 400 shown without losing the input), and the unread badge counts it live and on mark read', async () => {
  const { page, errors } = await signIn(operator);
  await page.click('nav a[href="#/notifications"]');
  await page.waitForSelector('main .live:has-text("live")');
  const unread = async () => Number((await page.getAttribute('nav .unread', 'data-count')) ?? -1);
  const initial = await em().count(Notification, { read: false });
  await page.waitForSelector(`nav .unread[data-count="${initial}"]`, { state: 'attached' });

  const form = 'form[data-action="weekly-report"]';
  await page.click('details:has(form[data-action="weekly-report"]) summary');
  await page.fill(`${form} input[name=weekStart]`, '2026-11-25'); // a Wednesday
  await page.click(`${form} button[type=submit]`);
  await page.waitForSelector(`${form} [role=alert]:has-text("must be a Monday")`);
  expect(await page.textContent(`${form} [role=alert]`)).toMatch(
    /^The API refused the input: .*weekStart.*Correct it and start again\.$/,
  );
  expect(await page.inputValue(`${form} input[name=weekStart]`)).toBe('2026-11-25');

  await page.fill(`${form} input[name=weekStart]`, '');
  const workflowId = await startAndFollow(page, 'weekly-report', { quick: true });
  expect(workflowId).toMatch(/^weekly-report-\d{4}-\d{2}-\d{2}$/);
  // The report's notification arrives over the stream: the list and the badge, without a reload.
  await page.waitForSelector('ul.notifications li.unread:has-text("weekly_report")');
  await page.waitForFunction(`Number(document.querySelector('nav .unread')?.getAttribute('data-count')) > ${initial}`);
  const withReport = await unread();
  expect(await page.textContent('nav a[href="#/notifications"]')).toBe(`Notifications (${withReport})`);
  await screenshot(page, 'console-actions-weekly-report');

  await page.click('ul.notifications li.unread:has-text("weekly_report") button:has-text("Mark read")');
  await page.waitForSelector(`nav .unread[data-count="${withReport - 1}"]`, { state: 'attached' });
  expect(await em().count(Notification, { read: false })).toBe(withReport - 1);

  // A notification made elsewhere (here: straight in the database, as a workflow would) raises the count live too.
  await em().persistAndFlush(
    new Notification({
      kind: 'budget_warning',
      title: 'Made by the console test',
      message: 'It should be counted at once.',
      priority: 'normal',
    }),
  );
  await page.waitForSelector(`nav .unread[data-count="${withReport}"]`, { state: 'attached' });
  expect(errors.filter((e) => !e.includes('status of 400'))).toEqual([]);
  await page.context().close();
});

it('lays out a proposal’s validation, tests, Guardian’s review and eligibility field by field, with pass/fail badges', async () => {
  const id = randomUUID();
  const proposal = new Proposal({
    id,
    workflowId: proposalWorkflowId(id),
    agentId: 'guardian',
    findingId: null,
    goal: 'Check names in findUserQuery',
    trigger: 'api',
    requestedBy: 'test',
  });
  Object.assign(proposal, {
    status: 'blocked',
    title: 'Check names in findUserQuery',
    diff: exampleTargetFix(),
    changedFiles: ['src/users.js'],
    changedLines: 2,
    completedAt: new Date(),
    validation: { ok: true, problems: [], draft: 1, files: ['src/users.js'], changedLines: 2, diffHash: 'abc' },
    tests: {
      draft: 1,
      ok: true,
      tests: {
        ok: true,
        exitCode: 0,
        timedOut: false,
        tests: 12,
        pass: 12,
        fail: 0,
        skip: 0,
        runner: 'node-test',
        isolation: 'bwrap',
        durationMs: 1830,
        outputTail: '# pass 12',
      },
      setup: { manager: 'npm', command: 'npm ci --ignore-scripts', cacheHit: true, durationMs: 40 },
    },
    guardianReview: {
      scan: {
        newFindings: [
          {
            tool: 'semgrep',
            rule: 'sql-injection',
            severity: 'high',
            title: 'SQL built from input',
            message: 'a template literal',
            file: 'src/users.js',
            line: 7,
          },
        ],
        tools: [{ tool: 'semgrep', status: 'ok' }],
      },
      model: {
        summary: 'The fix still concatenates.',
        concerns: [{ severity: 'high', file: 'src/users.js', message: 'still injectable' }],
        provider: 'openai',
        model: 'gpt-test',
      },
      modelReview: 'concerns',
      modelReviewReason: null,
      blocked: true,
      reasons: ['high concern in src/users.js: still injectable'],
    },
    eligibility: {
      eligible: true,
      reasons: ['eligible'],
      checks: [
        { rule: 'active', ok: true, detail: 'active' },
        { rule: 'recent_pass', ok: true, detail: 'passed 2 h ago' },
      ],
      openProposals: 0,
    },
  });
  await em().persistAndFlush(proposal);
  const { page, errors } = await signIn(viewer);
  await page.goto(`${api.url}/#/proposals/${id}`);
  await page.waitForSelector('.proposal [data-report="eligibility"]');
  expect(await page.locator('.proposal pre.json').count()).toBe(0);
  expect(await page.getAttribute('[data-report="validation"]', 'data-ok')).toBe('true');
  expect(await page.textContent('[data-report="validation"] h3 .badge')).toBe('passed');
  expect(await page.textContent('[data-report="tests"] dl')).toContain('Passed12');
  expect(await page.textContent('[data-report="tests"] dl')).toContain('npm ci --ignore-scripts: cache hit in 40 ms');
  expect(await page.getAttribute('[data-report="guardian"]', 'data-ok')).toBe('false');
  expect(await page.textContent('[data-report="guardian"] h3 .badge')).toBe('failed');
  expect(await page.textContent('[data-report="guardian"] dl')).toContain(
    'high concern in src/users.js: still injectable',
  );
  expect(await page.textContent('[data-report="guardian"] table')).toContain('sql-injection');
  expect(await page.textContent('[data-report="guardian"] .concerns')).toContain('still injectable');
  expect(await page.locator('[data-report="eligibility"] table tbody tr').allTextContents()).toEqual([
    'Agent activeokactive',
    'Recent exam passokpassed 2 h ago',
  ]);
  await screenshot(page, 'console-actions-proposal-reports');
  expect(errors).toEqual([]);
  await page.context().close();
});
