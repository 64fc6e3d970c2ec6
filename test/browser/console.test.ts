import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Browser } from 'playwright-core';
import { CONSOLE_CSP, WEB_DIR } from '../../src/api/routes/console/static';
import type { Config } from '../../src/config';
import { PROPOSAL_WORKFLOW, proposalWorkflowId, type ProposalInput } from '../../src/contracts';
import { Agent, Proposal } from '../../src/db/entities';
import { runTarget } from '../../activities/runs.activities';
import { registerWorker } from '../../src/db/workers';
import { startTestApi, type TestApi } from '../helpers/api';
import { launchConsoleBrowser, screenshot, signIn as signInAs } from '../helpers/browser';
import { testConfig } from '../helpers/config';
import { useLlmTestBed } from '../helpers/llm';
import { exampleTargetFix } from '../helpers/proposals';
import { createTestWorker, type TestWorker } from '../helpers/worker';

jest.setTimeout(240_000);

const bed = useLlmTestBed();
const em = () => bed.orm.em.fork() as EntityManager;
let dataDir: string;
let config: Config;
let worker: TestWorker;
let api: TestApi;
let browser: Browser;
let operator: string;
let viewer: string;
let proposalId: string;

/** A fix that keeps the example target's tests passing (the one test/temporal/proposals.test.ts applies). */
const SAFE_FIX = exampleTargetFix();
const TITLE = 'Check names in findUserQuery';

beforeAll(async () => {
  browser = await launchConsoleBrowser();

  dataDir = await mkdtemp(path.join(os.tmpdir(), 'lvlup-console-'));
  config = testConfig(
    bed.db.url,
    bed.fakes.env({
      LLM_PROFILE_FALLBACK: '',
      ANTHROPIC_API_KEY: '',
      DATA_DIR: dataDir,
      PROPOSAL_MAX_CHANGED_LINES: '50',
    }),
  );
  worker = await createTestWorker(config, bed.orm, { workflowsPath: require.resolve('../../workflows') });
  worker.start();
  api = await startTestApi(config);
  operator = await api.key('operator', 'console-operator');
  viewer = await api.key('viewer', 'console-viewer');
  proposalId = await proposalAwaitingReview();
});

afterAll(async () => {
  await browser?.close();
  await api?.close();
  await worker?.close();
  if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
});

/** A real proposal, drafted by the fake OpenAI for the example target, that waits for a reviewer. */
async function proposalAwaitingReview(): Promise<string> {
  bed.fakes.reset();
  bed.fakes.openai.when('Review this proposed diff', { json: { summary: 'Looks safe.', concerns: [] } });
  bed.fakes.openai.when('Propose one small, safe change', {
    json: {
      title: TITLE,
      rationale: 'Quotes in a name ended the SQL string literal.',
      risk: 'Low: one expression.',
      diff: SAFE_FIX,
    },
  });
  await em().nativeUpdate(Agent, {}, { status: 'active', lastPassedAt: new Date(), consecutiveFailures: 0 });
  await runTarget(bed.orm, config);
  const id = randomUUID();
  const args: ProposalInput = {
    proposalId: id,
    agentId: 'guardian',
    goal: 'Stop SQL injection in findUserQuery',
    trigger: 'api',
    requestedBy: 'test',
    timeouts: { llmMs: 15_000, scanMs: 120_000, dbMs: 10_000 },
  };
  await worker.client.workflow.start(PROPOSAL_WORKFLOW, {
    args: [args],
    taskQueue: worker.taskQueue,
    workflowId: proposalWorkflowId(id),
  });
  for (let i = 0; i < 1200; i++) {
    const p = await em().findOne(Proposal, { id });
    if (p?.status === 'awaiting_review') return id;
    if (p !== null && p.completedAt !== null) throw new Error(`proposal ended ${p.status}: ${p.error}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the proposal never reached awaiting_review');
}

/** Signs in through the form in a fresh browser context (test/helpers/browser.ts). */
const signIn = (key: string) => signInAs(browser, api.url, key);

it('serves the console at / under its CSP: index.html revalidated, hashed assets cached for a year', async () => {
  const index = await api.request('GET', '/');
  expect(index.status).toBe(200);
  expect(index.headers.get('content-type')).toContain('text/html');
  expect(index.headers.get('cache-control')).toBe('no-cache');
  expect(index.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
  expect(CONSOLE_CSP).not.toContain('unsafe-inline');
  const asset = /src="(\/assets\/[^"]+\.js)"/.exec(index.text)?.[1];
  expect(asset).toBeDefined();
  const js = await api.request('GET', asset ?? '');
  expect(js.status).toBe(200);
  expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
  expect(js.headers.get('content-type')).toContain('javascript');
  expect(await readFile(path.join(WEB_DIR, 'index.html'), 'utf8')).not.toMatch(/<script>|<style>|style="/);
  expect((await api.request('GET', '/assets/../../package.json')).status).toBe(404);
  expect((await api.request('GET', '/console-config.json')).body).toEqual({
    temporalUiUrl: null,
    temporalUiPort: config.temporal.uiPort,
    namespace: config.temporal.namespace,
  });
});

it('tells a key its own name and role at GET /api/me', async () => {
  expect(await api.request('GET', '/api/me', { key: viewer })).toMatchObject({
    status: 200,
    body: { name: 'console-viewer', role: 'viewer' },
  });
  expect((await api.request('GET', '/api/me')).status).toBe(401);
});

it('refuses a wrong key at sign-in', async () => {
  const page = await browser.newPage();
  await page.goto(`${api.url}/`);
  await page.fill('input[name=key]', 'lvl_not-a-real-key-000000000000');
  await page.click('button[type=submit]');
  await page.waitForSelector('.signin .error:has-text("not valid")');
  expect(await page.evaluate('sessionStorage.getItem("lvlup.apiKey")')).toBeNull();
  await page.close();
});

it('shows the four agents with their levels and pause buttons for an operator (screenshot in test-artifacts/)', async () => {
  const announced = await registerWorker(bed.orm, {
    identity: 'console-test-worker',
    taskQueue: 'lvlup',
    sandbox: { isolation: 'bwrap' },
  });
  const { page, errors } = await signIn(operator);
  await page.waitForSelector('article.agent[data-agent="conquest"]');
  await page.waitForSelector('nav .sandbox-mode .badge-bwrap');
  await announced.stop();
  expect(await page.locator('article.agent').count()).toBe(4);
  expect(await page.locator('article.agent[data-agent="guardian"] progress.xp').count()).toBe(1);
  expect(await page.locator('article.agent button:has-text("Pause")').count()).toBe(4);
  await screenshot(page, 'console-agents');
  expect(errors).toEqual([]);
  await page.context().close();
});

it('shows a viewer the proposal awaiting review without any review or pause button', async () => {
  const { page, errors } = await signIn(viewer);
  await page.waitForSelector('article.agent');
  expect(await page.locator('article.agent button').count()).toBe(0);
  await page.goto(`${api.url}/#/proposals/${proposalId}`);
  await page.waitForSelector('.proposal[data-status="awaiting_review"] .diff');
  expect(await page.textContent('.proposal .model-review[data-state="passed"]')).toContain('no concerns');
  expect(await page.locator('button.approve').count()).toBe(0);
  expect(await page.locator('textarea[name=comment]').count()).toBe(0);
  expect(errors).toEqual([]);
  await page.context().close();
});

it("tells a reviewer, in the inbox and the proposal, that Guardian's model review never happened and why", async () => {
  const id = randomUUID();
  const reason = 'LlmBadOutput: the reply was not JSON for the schema';
  const unreviewed = new Proposal({
    id,
    workflowId: proposalWorkflowId(id),
    agentId: 'imperium',
    findingId: null,
    goal: 'Tidy the parser',
    trigger: 'api',
    requestedBy: 'test',
  });
  Object.assign(unreviewed, {
    status: 'awaiting_review',
    title: 'Tidy the parser',
    diff: SAFE_FIX,
    changedFiles: ['src/users.js'],
    changedLines: 1,
    guardianReview: {
      scan: { newFindings: [], tools: [] },
      model: { unavailable: reason },
      modelReview: 'unavailable',
      modelReviewReason: reason,
      blocked: false,
      reasons: [],
    },
  });
  await em().persistAndFlush(unreviewed);
  const { page, errors } = await signIn(viewer);
  await page.click('nav a:has-text("Proposals")');
  await page.waitForSelector('a.proposal-link:has-text("Tidy the parser")');
  expect(await page.textContent('tr:has(a.proposal-link:has-text("Tidy the parser")) .badge-unavailable')).toBe(
    'unavailable',
  );
  await page.click('a.proposal-link:has-text("Tidy the parser")');
  const notice = await page.textContent('.proposal .model-review[data-state="unavailable"]');
  expect(notice).toContain(reason);
  expect(notice).toContain('Review the diff yourself');
  expect(errors).toEqual([]);
  await page.context().close();
  await em().nativeUpdate(Proposal, { id }, { status: 'cancelled', completedAt: new Date() });
});

it('lets an operator open the proposal from the inbox, approve it with a comment, and see it applied', async () => {
  const { page, errors } = await signIn(operator);
  await page.click('nav a:has-text("Proposals")');
  await page.click(`a.proposal-link:has-text("${TITLE}")`);
  await page.waitForSelector('.proposal[data-status="awaiting_review"]');
  expect(await page.locator('.diff .diff-add').count()).toBe(1);
  expect(await page.locator('.diff .tok-keyword').count()).toBeGreaterThan(0);
  await page.fill('textarea[name=comment]', 'Approved from the console.');
  await page.click('button.approve');
  await page.waitForSelector('.proposal[data-status="applied"]', { timeout: 120_000 });
  expect(await page.textContent('.proposal .review')).toContain('Approved from the console.');
  await screenshot(page, 'console-proposal');
  expect(await em().findOneOrFail(Proposal, { id: proposalId })).toMatchObject({
    status: 'applied',
    review: { decision: 'approve', reviewer: 'console-operator', comment: 'Approved from the console.' },
  });
  expect(errors).toEqual([]);
  await page.context().close();
});

it('opens every page of the navigation without an error', async () => {
  const { page, errors } = await signIn(operator);
  const links = await page.locator('nav a').evaluateAll((as) => as.map((a) => a.getAttribute('href') ?? ''));
  expect(links).toEqual([
    '#/agents',
    '#/exams',
    '#/proposals',
    '#/cycles',
    '#/scans',
    '#/findings',
    '#/experiments',
    '#/analyses',
    '#/performance',
    '#/notifications',
    '#/schedules',
    '#/kpis',
    '#/reports',
    '#/tokens',
    '#/budgets',
    '#/judges',
    '#/system',
  ]);
  for (const href of links) {
    await page.click(`nav a[href="${href}"]`);
    await page.waitForSelector('main h1');
    expect({ href, error: await page.locator('main .error').allTextContents() }).toEqual({ href, error: [] });
  }
  // The notifications page (no longer the last of the nav) streams its feed live.
  await page.click('nav a[href="#/notifications"]');
  await page.waitForSelector('.live:has-text("live")');
  expect(errors).toEqual([]);
  await page.context().close();
});

it('shows an admin the audit log (a refused sign-in among it) and hides it from an operator', async () => {
  const admin = await api.key('admin', 'console-admin');
  await api.request('GET', '/api/agents', { key: 'lvl_audited-in-console-0000000000' });
  const { page, errors } = await signIn(admin);
  await page.click('nav a[href="#/audit"]');
  await page.waitForSelector('main h1:has-text("Audit log")');
  await page.fill('input[name=status]', '401');
  await page.click('main form button[type=submit]');
  await page.waitForSelector('main td:has-text("unknown key lvl_audite")');
  expect(await page.locator('main .error').allTextContents()).toEqual([]);
  expect(errors).toEqual([]);
  await page.context().close();
  const { page: operatorPage } = await signIn(operator);
  expect(await operatorPage.locator('nav a[href="#/audit"]').count()).toBe(0);
  await operatorPage.context().close();
});
