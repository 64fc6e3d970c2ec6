import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Browser, Page } from 'playwright-core';
import type { Client } from '@temporalio/client';
import { computeWeeklyReport } from '../../activities/reports/figures';
import { notifyWeeklyReport } from '../../activities/reports/notify';
import type { Config } from '../../src/config';
import { LlmBudget } from '../../src/db/entities';
import { registerWorker } from '../../src/db/workers';
import { budgetMonth } from '../../src/domain/llm';
import { lastEndedWeekStart } from '../../src/domain/weeks';
import { startTestApi, type TestApi } from '../helpers/api';
import {
  buildConsole,
  createSchedules,
  freshNamespace,
  launchChromium,
  open,
  screenshot,
  signIn,
} from '../helpers/browser';
import { testConfig } from '../helpers/config';
import { useLlmTestBed } from '../helpers/llm';
import { seedExam, seedLedger } from '../helpers/seed';

jest.setTimeout(120_000);

const bed = useLlmTestBed();
const em = () => bed.orm.em.fork() as EntityManager;
let config: Config;
let api: TestApi;
let browser: Browser;
let schedules: { client: Client; close(): Promise<void> };
let viewer: string;
let operator: string;
let admin: string;

beforeAll(async () => {
  await buildConsole();
  browser = await launchChromium();
  // Its own namespace: the schedules this file pauses, triggers and deletes are nobody else's; no worker polls the queue.
  const namespace = await freshNamespace();
  config = testConfig(
    bed.db.url,
    bed.fakes.env({
      LLM_PROFILE_FALLBACK: '',
      ANTHROPIC_API_KEY: '',
      TEMPORAL_NAMESPACE: namespace,
      TEMPORAL_TASK_QUEUE: `idle-${randomUUID().slice(0, 8)}`,
      RATE_LIMIT_MAX: '10000',
    }),
  );
  schedules = await createSchedules(config);
  api = await startTestApi(config);
  [viewer, operator, admin] = await Promise.all([
    api.key('viewer', 'pages-viewer'),
    api.key('operator', 'pages-operator'),
    api.key('admin', 'pages-admin'),
  ]);
});

afterAll(async () => {
  await browser?.close();
  await api?.close();
  await schedules?.close();
});

const session = async (key: string) => signIn(browser, api.url, key);
const done = async (page: Page, errors: string[]) => {
  expect(errors).toEqual([]);
  await page.context().close();
};

describe('Schedules', () => {
  it('shows every schedule with its state and next runs; an operator pauses one with a note, unpauses it and triggers another, seeing each result', async () => {
    const { page, errors } = await session(operator);
    await open(page, '#/schedules', 'article.schedule[data-schedule="guardian-scan"]');
    const ids = (await api.request('GET', '/api/schedules', { key: viewer })).body as { items: Array<{ id: string }> };
    expect(await page.locator('article.schedule').count()).toBe(ids.items.length);
    expect(await page.locator('article.schedule[data-state="active"]').count()).toBe(ids.items.length);
    expect(await page.locator('article.schedule[data-schedule="guardian-scan"] ul.next li').count()).toBeGreaterThan(0);
    expect(await page.textContent('article.schedule[data-schedule="weekly-report"]')).toContain('mondays at 09:00 UTC');

    const scan = page.locator('article.schedule[data-schedule="guardian-scan"]');
    await scan.locator('input[name=reason]').fill('maintenance window');
    await scan.locator('button.pause').click();
    await page.waitForSelector('.outcome [role=status]:has-text("Paused guardian-scan")');
    await page.waitForSelector(
      'article.schedule[data-schedule="guardian-scan"][data-state="paused"] .pause-note:has-text("maintenance window")',
    );
    expect((await schedules.client.schedule.getHandle('guardian-scan').describe()).state).toMatchObject({
      paused: true,
      note: 'maintenance window',
    });
    await screenshot(page, 'console-schedules');

    await page.locator('article.schedule[data-schedule="guardian-scan"] button.unpause').click();
    await page.waitForSelector('.outcome [role=status]:has-text("Unpaused guardian-scan")');
    await page.waitForSelector('article.schedule[data-schedule="guardian-scan"][data-state="active"]');
    expect((await schedules.client.schedule.getHandle('guardian-scan').describe()).state.paused).toBe(false);

    await page.locator('article.schedule[data-schedule="conquest-analysis"] button.trigger').click();
    await page.waitForSelector('.outcome [role=status]:has-text("Triggered conquest-analysis")');
    // Temporal lists the action among the recent ones once it took it: the page, read again, shows the run.
    for (
      let i = 0;
      i < 50 &&
      (await schedules.client.schedule.getHandle('conquest-analysis').describe()).info.recentActions.length === 0;
      i++
    )
      await new Promise((r) => setTimeout(r, 200));
    await page.reload();
    await page.waitForSelector('article.schedule[data-schedule="conquest-analysis"] ul.recent li a.wf');
    await done(page, errors);
  });

  it('says in plain words, as an alert, why an action failed (the schedule vanished behind the page)', async () => {
    const { page, errors } = await session(operator);
    await open(page, '#/schedules', 'article.schedule[data-schedule="reconcile"] button.trigger');
    await schedules.client.schedule.getHandle('reconcile').delete();
    for (
      let i = 0;
      i < 50 &&
      (await schedules.client.schedule
        .getHandle('reconcile')
        .describe()
        .then(
          () => true,
          () => false,
        ));
      i++
    )
      await new Promise((r) => setTimeout(r, 100));
    await page.locator('article.schedule[data-schedule="reconcile"] button.trigger').click();
    const alert = await page.waitForSelector('.outcome [role=alert]');
    expect(await alert.textContent()).toBe(
      'Not found: schedule "reconcile" (the worker creates it at start) not found.',
    );
    // The 404 is logged by the browser as a failed resource; nothing else went wrong.
    expect(errors.filter((e) => !e.includes('404'))).toEqual([]);
    await page.context().close();
  });

  it('shows a viewer the schedules without any action', async () => {
    const { page, errors } = await session(viewer);
    await open(page, '#/schedules', 'article.schedule');
    expect(await page.locator('main form, main button').count()).toBe(0);
    // The schedule deleted above is shown as not created, with what creates it.
    expect(await page.textContent('article.schedule[data-schedule="reconcile"]')).toContain(
      'a worker creates every schedule when it starts',
    );
    await done(page, errors);
  });
});

describe('KPIs', () => {
  it('shows each KPI as met, not met or without data, with its figure, target and reason, as the API measured it', async () => {
    // A failed exam an hour ago: the pass rate misses its target, background work (a graded exam) meets it.
    await seedExam(em(), { agentId: 'guardian', status: 'failed', completedAt: new Date(Date.now() - 3600_000) });
    const { page, errors } = await session(viewer);
    await open(page, '#/kpis', 'table.kpis tbody tr');
    const measured = (await api.request('GET', '/api/kpis', { key: viewer })).body as {
      items: Array<{ name: string; met: boolean | null; detail: string }>;
    };
    const shown = await page.locator('table.kpis tbody tr').evaluateAll((rows) =>
      rows.map((r) => ({
        name: r.getAttribute('data-kpi'),
        state: r.getAttribute('data-state'),
        text: r.textContent ?? '',
      })),
    );
    expect(shown.map((r) => r.name)).toEqual(measured.items.map((k) => k.name));
    for (const k of measured.items) {
      const row = shown.find((r) => r.name === k.name);
      expect({ name: k.name, state: row?.state }).toEqual({
        name: k.name,
        state: k.met === null ? 'nodata' : k.met ? 'met' : 'notmet',
      });
    }
    expect(shown.find((r) => r.name === 'exam_pass_rate')).toMatchObject({ state: 'notmet' });
    expect(shown.find((r) => r.name === 'exam_pass_rate')?.text).toContain('0 of 1 exams passed');
    expect(shown.find((r) => r.name === 'background_task_success')).toMatchObject({ state: 'met' });
    expect(shown.find((r) => r.name === 'proposal_approval_rate')).toMatchObject({ state: 'nodata' });
    expect(shown.find((r) => r.name === 'proposal_approval_rate')?.text).toContain(
      'no proposal was reviewed in the last 30 days',
    );
    expect(await page.textContent('.kpi-summary')).toMatch(/\d+ met · \d+ not met · \d+ without data/);
    await screenshot(page, 'console-kpis');
    await done(page, errors);
  });
});

describe('Weekly reports', () => {
  it('tells a new operator how to get a first report, then lists a real one and lays it out readably', async () => {
    const { page, errors } = await session(viewer);
    await open(page, '#/reports', 'main .empty');
    expect(await page.textContent('main .empty')).toContain('No weekly report yet');
    expect(await page.locator('main .empty a[href="#/schedules"]').count()).toBe(1);

    // A real report of last week, written by the report workflow's own activities from seeded rows.
    const weekStart = lastEndedWeekStart(new Date());
    const inWeek = new Date(Date.parse(`${weekStart}T12:00:00Z`) + 86_400_000);
    await seedLedger(em(), [
      { at: inWeek, agentId: 'guardian', provider: 'openai', inputTokens: 1200, outputTokens: 300, costUsd: 0.0123 },
      { at: inWeek, agentId: 'imperium', provider: 'openai', inputTokens: 800, outputTokens: 200, costUsd: 0.0081 },
    ]);
    await seedExam(em(), { agentId: 'imperium', status: 'passed', completedAt: inWeek, levels: [1, 2] });
    const { notificationId } = await notifyWeeklyReport(
      bed.orm,
      await computeWeeklyReport({ orm: bed.orm, config }, weekStart),
    );

    await page.reload();
    await page.waitForSelector('a.report-link');
    expect(await page.textContent('a.report-link')).toContain(weekStart);
    await page.click('a.report-link');
    await page.waitForSelector(`main h1:has-text("Weekly report: ${weekStart}")`);
    expect(page.url()).toContain(`#/reports/${notificationId}`);
    expect(await page.locator('main h2').allTextContents()).toEqual([
      'LLM usage',
      'Exams',
      'Level-ups',
      'Proposals completed',
      'Agent runs started',
    ]);
    expect(await page.textContent('main table')).toContain('2,500');
    expect(await page.textContent('main')).toContain('imperium: level 1 → 2');
    expect(await page.textContent('main')).toContain('1 taken, 1 passed, 0 failed');
    // Laid out, not dumped: no JSON block on the page.
    expect(await page.locator('main pre.json').count()).toBe(0);
    await screenshot(page, 'console-report');
    await done(page, errors);
  });
});

describe('Budgets', () => {
  it("shows viewers and operators this month's budgets and spend, read-only", async () => {
    // What the gateway's settled calls have counted against the sandbox agent this month.
    await em()
      .getConnection()
      .execute(
        `insert into llm_budget_usage (scope, month, used_tokens, used_usd) values ('agent:sandbox', ?, 5000, 0.5)`,
        [budgetMonth(new Date())],
      );
    for (const key of [viewer, operator]) {
      const { page, errors } = await session(key);
      await open(page, '#/budgets', 'table.budgets tbody tr[data-scope="global"]');
      expect(await page.textContent('tr[data-scope="agent:sandbox"]')).toContain('5,000');
      expect(await page.locator('main form, main input, main select').count()).toBe(0);
      expect(await page.textContent('main')).toContain('Only an admin key can change the budgets.');
      await done(page, errors);
    }
  });

  it('lets an admin set a budget in a labelled form, with validation errors shown by their fields', async () => {
    const { page, errors } = await session(admin);
    await open(page, '#/budgets', 'form.budget-form');
    await page.getByLabel('Scope').selectOption('agent:sandbox');
    const tokens = page.getByLabel('Monthly token limit');
    const usd = page.getByLabel('Monthly dollar limit');

    await tokens.fill('lots');
    await page.click('form.budget-form button[type=submit]');
    expect(await tokens.getAttribute('aria-invalid')).toBe('true');
    expect(await page.textContent('form.budget-form .field:has([name=monthlyTokens]) .field-error')).toBe(
      'must be a number (or empty for no limit)',
    );

    // The API's own validation, shown by the field and announced.
    await tokens.fill('-5');
    await page.click('form.budget-form button[type=submit]');
    await page.waitForSelector('.outcome [role=alert]:has-text("Not accepted: monthlyTokens")');
    expect(await page.textContent('form.budget-form .field:has([name=monthlyTokens]) .field-error')).toMatch(/>=\s*0/);
    expect(await em().findOne(LlmBudget, { scope: 'agent:sandbox' })).toBeNull();

    await tokens.fill('100000');
    await usd.fill('12.5');
    await page.click('form.budget-form button[type=submit]');
    await page.waitForSelector('.outcome [role=status]:has-text("Saved the budget of agent:sandbox")');
    await page.waitForSelector('tr[data-scope="agent:sandbox"]:has-text("5,000 of 100,000 (5 %)")');
    expect(await page.textContent('tr[data-scope="agent:sandbox"]')).toContain('by pages-admin');
    expect(await em().findOneOrFail(LlmBudget, { scope: 'agent:sandbox' })).toMatchObject({
      monthlyTokens: 100000,
      monthlyUsd: 12.5,
      updatedBy: 'pages-admin',
    });
    await screenshot(page, 'console-budgets');
    expect(errors.filter((e) => !e.includes('400'))).toEqual([]);
    await page.context().close();
  });
});

describe('Judges', () => {
  it('explains the agreement figures, with an empty state first and then each judge as the API computes it', async () => {
    const { page, errors } = await session(viewer);
    await open(page, '#/judges', 'main .empty');
    expect(await page.textContent('main .empty')).toContain('No audited item in the last 30 days');
    expect(await page.textContent('main .explain')).toContain('Krippendorff’s alpha');

    // Two judges audited by a third: one agrees with it closely, one scores at random.
    const rows: string[] = [];
    const spread = [10, 25, 40, 55, 70, 85, 95, 30];
    spread.forEach((s, i) => {
      rows.push(
        `('${randomUUID()}', ${i}, 'openai:close-judge', ${s}, 'anthropic:auditor', ${s + (i % 2 === 0 ? 2 : -2)}, 'sample', now())`,
      );
      rows.push(
        `('${randomUUID()}', ${i}, 'openai:wild-judge', ${100 - s}, 'anthropic:auditor', ${s}, 'sample', now())`,
      );
    });
    await em()
      .getConnection()
      .execute(
        `insert into judge_audits (exam_id, position, judge, judge_score, auditor, audit_score, reason, created_at) values ${rows.join(', ')}`,
      );
    await page.reload();
    await page.waitForSelector('table.judges tbody tr');
    const api_ = (await api.request('GET', '/api/custody/judges', { key: viewer })).body as {
      items: Array<{ model: string; belowThreshold: boolean }>;
    };
    expect(api_.items.find((j) => j.model === 'openai:wild-judge')?.belowThreshold).toBe(true);
    expect(await page.getAttribute('tr[data-model="openai:wild-judge"]', 'data-state')).toBe('low');
    expect(await page.getAttribute('tr[data-model="openai:close-judge"]', 'data-state')).toBe('ok');
    expect(await page.textContent('tr[data-model="openai:close-judge"]')).toContain('2 points');
    await screenshot(page, 'console-judges');
    await done(page, errors);
  });
});

describe('System', () => {
  it('warns loudly when the live workers do NOT isolate target code, and shows the providers, dependencies and workers', async () => {
    const warning = 'no filesystem isolation: a run can read and write whatever the worker can';
    const unisolated = await registerWorker(bed.orm, {
      identity: 'pages-process-worker',
      taskQueue: config.temporal.taskQueue,
      sandbox: { isolation: 'process', cgroup: 'none', warnings: [warning] },
    });
    const { page, errors } = await session(viewer);
    await open(page, '#/system', 'main .isolation');
    expect(await page.getAttribute('main .isolation', 'data-isolation')).toBe('process');
    expect(await page.textContent('main .warning-box')).toContain('NOT isolated');
    expect(await page.textContent('main .warning-box')).toContain(warning);
    expect(await page.textContent('main')).toContain('Configured: openai');
    expect(await page.locator('main .badge-up').count()).toBe(2);
    expect(await page.locator('main .badge-ready').count()).toBe(1);
    expect(await page.textContent('main')).toContain('pages-process-worker');
    await screenshot(page, 'console-system');
    await unisolated.stop();

    const isolated = await registerWorker(bed.orm, {
      identity: 'pages-bwrap-worker',
      taskQueue: config.temporal.taskQueue,
      sandbox: { isolation: 'bwrap', cgroup: 'v2', warnings: [] },
    });
    await page.reload();
    await page.waitForSelector('main .isolation[data-isolation="bwrap"]');
    expect(await page.locator('main .warning-box').count()).toBe(0);
    expect(await page.textContent('main')).toContain('Isolated: every run is in its own bubblewrap namespaces');
    await isolated.stop();
    await page.reload();
    await page.waitForSelector('main .isolation[data-isolation="unknown"]');
    expect(await page.textContent('main .empty')).toContain('No live worker');
    await done(page, errors);
  });
});

describe('Audit log', () => {
  it('filters by every filter the API has, a time range and the method among them, with an empty state for no match', async () => {
    // Two budget calls of its own: one refused by validation, one saved.
    expect(
      (
        await api.request('PUT', '/api/token-usage/budgets/provider:anthropic', {
          key: admin,
          body: { monthlyTokens: -1, monthlyUsd: null },
        })
      ).status,
    ).toBe(400);
    expect(
      (
        await api.request('PUT', '/api/token-usage/budgets/provider:anthropic', {
          key: admin,
          body: { monthlyTokens: 1000, monthlyUsd: null },
        })
      ).status,
    ).toBe(200);
    const { page, errors } = await session(admin);
    await open(page, '#/audit', 'form.audit-filters');
    for (const label of ['Key name', 'Key prefix', 'Method', 'Path prefix', 'Status', 'From', 'To'])
      expect(await page.getByLabel(label, { exact: true }).count()).toBe(1);
    await page.getByLabel('Method', { exact: true }).selectOption('PUT');
    await page.getByLabel('Path prefix', { exact: true }).fill('/api/token-usage/budgets/provider');
    await page
      .getByLabel('From', { exact: true })
      .fill(new Date(Date.now() - 3600_000 - new Date().getTimezoneOffset() * 60_000).toISOString().slice(0, 16));
    await page.click('form.audit-filters button[type=submit]');
    await page.waitForSelector('main td:has-text("budget:provider:anthropic")');
    expect(page.url()).toContain('method=PUT');
    expect(page.url()).toMatch(/from=\d{4}-\d\d-\d\dT/);
    // Both the refused and the saved call were audited.
    expect(await page.locator('main tbody tr').count()).toBe(2);

    await page.getByLabel('From', { exact: true }).fill(new Date(Date.now() + 86_400_000).toISOString().slice(0, 16));
    await page.click('form.audit-filters button[type=submit]');
    await page.waitForSelector('main p.muted:has-text("No entry matches these filters.")');
    await screenshot(page, 'console-audit');
    await done(page, errors);
  });
});
