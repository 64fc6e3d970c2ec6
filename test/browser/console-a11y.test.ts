import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Browser, Page } from 'playwright-core';
import { computeWeeklyReport } from '../../activities/reports/figures';
import { notifyWeeklyReport } from '../../activities/reports/notify';
import type { Config } from '../../src/config';
import { proposalWorkflowId } from '../../src/contracts';
import { Proposal } from '../../src/db/entities';
import { registerWorker } from '../../src/db/workers';
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
import { exampleTargetFix } from '../helpers/proposals';
import { seedExam, seedLedger, seedRun } from '../helpers/seed';

jest.setTimeout(150_000);

const bed = useLlmTestBed();
const em = () => bed.orm.em.fork() as EntityManager;
let config: Config;
let api: TestApi;
let browser: Browser;
let schedules: { close(): Promise<void> };
let admin: string;
let axeSource: string;
/** Detail pages (not in the nav) with data behind them, so they render their real content. */
const details: string[] = [];

beforeAll(async () => {
  await buildConsole();
  browser = await launchChromium();
  axeSource = await readFile(require.resolve('axe-core/axe.min.js'), 'utf8');
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
  admin = await api.key('admin', 'a11y-admin');
  // Something on every page: an exam, a proposal with its diff, runs, ledger rows, last week's report.
  const weekStart = lastEndedWeekStart(new Date());
  const inWeek = new Date(Date.parse(`${weekStart}T12:00:00Z`) + 86_400_000);
  await seedLedger(em(), [
    { at: new Date(), agentId: 'guardian', provider: 'openai', inputTokens: 900, outputTokens: 100, costUsd: 0.01 },
    { at: inWeek, agentId: 'imperium', provider: 'openai', inputTokens: 900, outputTokens: 100, costUsd: 0.01 },
  ]);
  const exam = await seedExam(em(), { agentId: 'imperium', status: 'passed', completedAt: inWeek, levels: [1, 2] });
  await seedRun(em(), { agentId: 'guardian', kind: 'guardian_scan', status: 'completed', startedAt: new Date() });
  const id = randomUUID();
  const proposal = new Proposal({
    id,
    workflowId: proposalWorkflowId(id),
    agentId: 'imperium',
    findingId: null,
    goal: 'Tidy the parser',
    trigger: 'api',
    requestedBy: 'test',
  });
  Object.assign(proposal, {
    status: 'awaiting_review',
    title: 'Tidy the parser',
    diff: exampleTargetFix(),
    changedFiles: ['src/users.js'],
    changedLines: 1,
    guardianReview: {
      scan: { newFindings: [], tools: [] },
      model: { summary: 'Looks safe.', concerns: [] },
      modelReview: 'passed',
      blocked: false,
      reasons: [],
    },
  });
  await em().persistAndFlush(proposal);
  const { notificationId } = await notifyWeeklyReport(
    bed.orm,
    await computeWeeklyReport({ orm: bed.orm, config }, weekStart),
  );
  details.push(`#/exams/${exam.id}`, `#/proposals/${id}`, `#/reports/${notificationId}`);
});

afterAll(async () => {
  await browser?.close();
  await api?.close();
  await schedules?.close();
});

interface Violation {
  id: string;
  impact: string | null;
  help: string;
  nodes: string[];
}

/** Runs axe-core on the page as it is (its source evaluated through the DevTools protocol: the CSP forbids script tags). */
async function axe(page: Page): Promise<Violation[]> {
  if (!(await page.evaluate('typeof window.axe !== "undefined"'))) await page.evaluate(axeSource);
  const found = await page.evaluate(`axe.run(document, { resultTypes: ['violations'] }).then((r) =>
    r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map((n) => n.target.join(' ')) })))`);
  return found as Violation[];
}

const serious = (vs: Violation[]) => vs.filter((v) => v.impact === 'serious' || v.impact === 'critical');

it('finds no serious or critical axe-core violation on the sign-in page or on any console page (signed in as admin)', async () => {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  const signInPage = await context.newPage();
  await signInPage.goto(`${api.url}/`);
  await signInPage.waitForSelector('form.signin');
  const found: Record<string, Violation[]> = { '#/signin': serious(await axe(signInPage)) };
  await context.close();

  const worker = await registerWorker(bed.orm, {
    identity: 'a11y-worker',
    taskQueue: config.temporal.taskQueue,
    sandbox: { isolation: 'process', cgroup: 'none', warnings: ['no filesystem isolation'] },
  });
  const { page, errors } = await signIn(browser, api.url, admin);
  const nav = await page.locator('nav a').evaluateAll((as) => as.map((a) => a.getAttribute('href') ?? ''));
  // Every page of the nav an admin sees (the audit log among them), then the detail pages.
  expect(nav).toEqual(
    expect.arrayContaining([
      '#/agents',
      '#/schedules',
      '#/kpis',
      '#/reports',
      '#/budgets',
      '#/judges',
      '#/system',
      '#/audit',
    ]),
  );
  for (const hash of [...nav, ...details]) {
    await open(page, hash, 'main h1');
    // The page has loaded (not its "Loading…") and shows no error.
    await page.waitForFunction(`!document.querySelector('main > p.muted')?.textContent?.startsWith('Loading')`);
    expect({ hash, error: await page.locator('main .error[role=alert]').allTextContents() }).toEqual({
      hash,
      error: [],
    });
    found[hash] = serious(await axe(page));
    await screenshot(page, `a11y-${hash.replace(/^#\//, '').replace(/\/[0-9a-f-]{36}$/, '-detail')}`);
  }
  await worker.stop();
  const failing = Object.entries(found)
    .filter(([, vs]) => vs.length > 0)
    .map(
      ([hash, vs]) =>
        `${hash}: ${vs.map((v) => `${v.id} (${v.impact}: ${v.help}) at ${v.nodes.join(', ')}`).join('; ')}`,
    );
  expect(failing).toEqual([]);
  expect(Object.keys(found).length).toBe(nav.length + details.length + 1);
  expect(errors).toEqual([]);
  await page.context().close();
});

it('lets a keyboard user sign in, reach a page through the nav with Tab and Enter, and fill and submit a form, with focus visible', async () => {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  const page = await context.newPage();
  await page.goto(`${api.url}/`);
  await page.waitForSelector('form.signin input[name=key]:focus');
  await page.keyboard.type(admin);
  await page.keyboard.press('Enter');
  await page.waitForSelector('nav .who');

  /** Tabs until `selector` has the focus (at most `max` presses); answers how many it took. */
  const tabTo = async (selector: string, max = 80): Promise<number> => {
    for (let i = 1; i <= max; i++) {
      await page.keyboard.press('Tab');
      if (await page.evaluate(`document.activeElement?.matches(${JSON.stringify(selector)}) ?? false`)) return i;
    }
    throw new Error(`${selector} was not reached in ${max} presses of Tab`);
  };
  const focusRing = () =>
    page.evaluate(`(() => {
      const el = document.activeElement;
      const style = getComputedStyle(el);
      return { visible: el.matches(':focus-visible'), style: style.outlineStyle, width: parseFloat(style.outlineWidth) };
    })()`);

  expect(await tabTo('nav a[href="#/agents"]')).toBeLessThan(5);
  expect(await focusRing()).toEqual({ visible: true, style: 'solid', width: 3 });
  await tabTo('nav a[href="#/budgets"]');
  await page.keyboard.press('Enter');
  await page.waitForSelector('form.budget-form');
  expect(page.url()).toContain('#/budgets');

  await tabTo('form.budget-form select[name=scope]');
  expect(await focusRing()).toMatchObject({ visible: true, style: 'solid' });
  await page.keyboard.press('ArrowDown'); // the second scope: the first agent
  const scope = String(await page.evaluate('document.activeElement.value'));
  expect(scope).toMatch(/^agent:/);
  await page.keyboard.press('Tab');
  expect(await page.evaluate('document.activeElement.name')).toBe('monthlyTokens');
  expect(await focusRing()).toMatchObject({ visible: true, style: 'solid' });
  await page.keyboard.type('250000');
  await page.keyboard.press('Tab');
  await page.keyboard.type('7');
  await page.keyboard.press('Enter');
  await page.waitForSelector(`.outcome [role=status]:has-text("Saved the budget of ${scope}")`);
  expect(
    (
      await api
        .request('GET', '/api/token-usage/budgets', { key: admin })
        .then((r) => r.body as { items: Array<{ scope: string; monthlyTokens: number; monthlyUsd: number }> })
    ).items.find((b) => b.scope === scope),
  ).toMatchObject({ monthlyTokens: 250000, monthlyUsd: 7 });
  await screenshot(page, 'console-keyboard');
  await context.close();
});
