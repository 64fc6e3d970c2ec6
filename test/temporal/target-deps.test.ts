import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, realpath, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { EntityManager } from '@mikro-orm/postgresql';
import {
  CONQUEST_ANALYSIS_WORKFLOW,
  GUARDIAN_SCAN_WORKFLOW,
  proposalBranch,
  SANDBOX_EXPERIMENT_WORKFLOW,
  type ConquestAnalysisResult,
  type ExperimentOutcome,
  type GuardianScanResult,
  type SandboxExperimentResult,
} from '../../src/contracts';
import { Agent, AgentRun, Finding } from '../../src/db/entities';
import { git } from '../../src/target';
import { startTestApi, type TestApi } from '../helpers/api';
import { testConfig } from '../helpers/config';
import { triageAllTruePositive, untrustedContent, useLlmTestBed } from '../helpers/llm';
import { commitRepository } from '../helpers/node-project';
import { proposalReaching } from '../helpers/proposals';
import { createTestWorker, executeAgentRun, type TestWorker } from '../helpers/worker';

/**
 * The whole agent loop on the second example target (examples/target-deps) set up as a user would: a git checkout
 * whose mocha suite is a devDependency from the npm registry, pinned by its lockfile. Guardian scans it, Sandbox runs
 * its suite with the dependencies installed (a cache miss) and adds a test, Conquest times its suite per file (a cache
 * hit), a proposal fixes the SQL injection Guardian found and is tested with mocha before review — and the user's
 * checkout is never touched. The tests share one worker and run in order: each builds on the one before.
 */

jest.setTimeout(180_000);

const EXAMPLE = path.resolve(__dirname, '../../examples/target-deps');
const TEST_FILES = ['test/catalog.test.js', 'test/report.test.js', 'test/settings.test.js', 'test/slug.test.js'];

const bed = useLlmTestBed();
const em = () => bed.orm.em.fork() as EntityManager;
let tmp: string;
let repo: string;
let head: string;
let worker: TestWorker;
let api: TestApi;
let operator: string;

beforeAll(async () => {
  tmp = await realpath(await mkdtemp(path.join(os.tmpdir(), 'lvlup-target-deps-loop-')));
  repo = path.join(tmp, 'shop');
  await cp(EXAMPLE, repo, { recursive: true, filter: (src) => !src.split(path.sep).includes('node_modules') });
  await commitRepository(repo);
  head = (await git(repo, ['rev-parse', 'HEAD'])).trim();
  // TARGET_TEST_CMD (npm test) and TARGET_BENCH_CMD (none) keep their defaults.
  const config = testConfig(
    bed.db.url,
    bed.fakes.env({
      LLM_PROFILE_FALLBACK: '',
      ANTHROPIC_API_KEY: '',
      DATA_DIR: path.join(tmp, 'data'),
      TARGET_REPO_PATH: repo,
      TEMPORAL_TASK_QUEUE: `target-deps-${randomBytes(4).toString('hex')}`,
    }),
  );
  worker = await createTestWorker(config, bed.orm, {
    workflowsPath: require.resolve('../../workflows'),
    taskQueue: config.temporal.taskQueue,
  });
  worker.start();
  api = await startTestApi(config);
  operator = await api.key('operator', 'reviewer-ops');
});
afterAll(async () => {
  await api?.close();
  await worker?.close();
  if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
});
beforeEach(() => bed.fakes.reset());

const stepDetails = (run: AgentRun, step: string) => run.steps.filter((s) => s.step === step).map((s) => s.detail);
const setupOf = (run: AgentRun) => run.summary.setup as { cacheKey: string; cacheHit: boolean } | undefined;
let sqlInjection: Finding;
let installedKey: string | undefined;

it('Guardian finds the GitHub token with secretlint and the SQL injection with eslint', async () => {
  bed.fakes.openai.when('You are Guardian', triageAllTruePositive);
  const { run, result, error } = await executeAgentRun<GuardianScanResult>(
    worker,
    bed.orm,
    GUARDIAN_SCAN_WORKFLOW,
    'guardian-scan',
  );
  expect(error).toBeUndefined();
  expect(result).toMatchObject({ status: 'completed', commit: head });
  expect(run.status).toBe('completed');
  const open = await em().find(Finding, { kind: 'security', status: 'open' });
  expect(open.find((f) => f.tool === 'secretlint' && f.file === 'src/settings.js')).toMatchObject({
    rule: '@secretlint/secretlint-rule-github',
    line: 7,
    triage: { verdict: 'true_positive' },
  });
  expect(open.find((f) => f.rule === 'security/detect-child-process' && f.file === 'src/catalog.js')).toMatchObject({
    line: 21,
  });
  const sql = open.find((f) => f.rule === 'lvlup/sql-concatenation' && f.file === 'src/catalog.js');
  expect(sql).toMatchObject({ line: 12, severity: 'high' });
  if (sql !== undefined) sqlInjection = sql;
  // The token itself is never stored.
  expect(JSON.stringify(open)).not.toContain('ghp_Lv1Up');
});

const MONEY_TEST = `'use strict';
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { formatMoney, parseMoney } = require('../src/money');
test('formats cents with the currency', () => assert.equal(formatMoney(-1234, 'EUR'), '-12.34 EUR'));
test('parses what it formats, and nothing else', () => {
  assert.equal(parseMoney('12.3'), 1230);
  assert.ok(Number.isNaN(parseMoney('12,30')));
});
`;

it('Sandbox runs the mocha suite with its dependencies installed (a cache miss) and adds a passing test for the untested module', async () => {
  bed.fakes.openai.when('You are Sandbox', {
    json: { file: 'test/money.test.js', content: MONEY_TEST, rationale: 'Nothing loads src/money.js.' },
  });
  const { run, result, error } = await executeAgentRun<SandboxExperimentResult>(
    worker,
    bed.orm,
    SANDBOX_EXPERIMENT_WORKFLOW,
    'sandbox-experiment',
  );
  expect(error).toBeUndefined();
  expect(result?.tests).toMatchObject({ ok: true, runner: 'mocha', tests: 11, pass: 11, fail: 0, skip: 0 });
  expect(result?.tests?.outputTail).toMatch(/11 passing/);
  expect(run.summary.setup).toMatchObject({
    manager: 'npm',
    lockfile: 'package-lock.json',
    cacheHit: false,
    command: 'npm ci --ignore-scripts',
    network: true,
  });
  expect(stepDetails(run, 'setup')).toEqual([
    expect.stringMatching(/^npm ci --ignore-scripts: installed in \d+ ms \(cache miss, with network\)$/),
  ]);
  installedKey = setupOf(run)?.cacheKey;

  // The model was told which modules no test loads; its node:test file passed next to the mocha suite.
  const asked = bed.fakes.openai.requests.find((r) => r.prompt.includes('You are Sandbox'));
  const untested = untrustedContent(asked?.prompt ?? '', 'source modules of the repository').split(', ');
  expect(untested?.sort()).toEqual(['src/index.js', 'src/money.js']);
  const outcome = result?.experiment as ExperimentOutcome;
  expect(outcome).toMatchObject({ file: 'test/money.test.js', passed: true, coversNewModules: ['src/money.js'] });
  expect(await em().findOneOrFail(Finding, { id: outcome.findingId ?? '' })).toMatchObject({
    kind: 'experiment',
    agentId: 'sandbox',
    status: 'open',
    data: { content: MONEY_TEST, tests: 2 },
  });
});

it('Conquest times the suite and each of its four test files with the dependencies from the cache', async () => {
  bed.fakes.openai.when('You are Conquest', { json: { hotspots: [] } });
  const { run, result, error } = await executeAgentRun<ConquestAnalysisResult>(
    worker,
    bed.orm,
    CONQUEST_ANALYSIS_WORKFLOW,
    'conquest-analysis',
  );
  expect(error).toBeUndefined();
  expect(result).toMatchObject({ status: 'completed', ok: true, regressions: [] });
  expect(result?.samples?.map((s) => s.name)).toEqual(['test-suite', ...TEST_FILES]);
  // mocha times in whole ms: the quick files may take 0, the file that exercises the O(n²) `distinct` is the slowest.
  const files = (result?.samples ?? []).filter((s) => s.name !== 'test-suite');
  expect([...files].sort((a, b) => b.currentMs - a.currentMs)[0]?.name).toBe('test/report.test.js');
  expect(run.summary.measure).toMatchObject({ source: 'tests', command: 'npm test -- --reporter json' });
  // Same lockfile as the experiment's: the installed tree is reused, not installed again.
  expect(installedKey).toEqual(expect.any(String));
  expect(run.summary.setup).toMatchObject({
    cacheHit: true,
    cacheKey: installedKey,
    command: 'npm ci --ignore-scripts',
  });
  expect(stepDetails(run, 'setup')).toEqual([expect.stringMatching(/^npm ci --ignore-scripts: cache hit in \d+ ms$/)]);
});

/** Quotes are doubled before the term goes into the SQL literal: the text stays the same for the suite's terms. */
const FIX = `--- a/src/catalog.js
+++ b/src/catalog.js
@@ -9,6 +9,7 @@
  * @returns {string}
  */
 function searchProductsQuery(term) {
+  term = String(term).replace(/'/g, "''");
   return "SELECT id, title, price FROM products WHERE title LIKE '%" + term + "%'";
 }
 
`;

it('turns the SQL-injection finding into a proposal whose fix passes the mocha suite in the sandbox before review', async () => {
  await em().nativeUpdate(Agent, {}, { status: 'active', lastPassedAt: new Date(), consecutiveFailures: 0 });
  bed.fakes.openai.when('Review this proposed diff', {
    json: { summary: 'Quotes can no longer end the literal.', concerns: [] },
  });
  bed.fakes.openai.when('Propose one small, safe change', {
    json: {
      title: 'Escape quotes in searchProductsQuery',
      rationale: 'A quote in the term ended the SQL literal.',
      risk: 'Low.',
      diff: FIX,
    },
  });
  const started = await api.request('POST', '/api/proposals', {
    key: operator,
    body: { agentId: 'guardian', findingId: sqlInjection.id },
  });
  expect(started.status).toBe(202);
  const id = (started.body as { proposalId: string }).proposalId;

  const waiting = await proposalReaching(bed.orm, id, 'awaiting_review');
  expect(bed.fakes.openai.requests.find((r) => r.prompt.includes('Propose one small'))?.prompt).toContain(
    'function searchProductsQuery(term)',
  );
  expect(waiting).toMatchObject({
    findingId: sqlInjection.id,
    changedFiles: ['src/catalog.js'],
    drafts: 1,
    validation: { ok: true },
    guardianReview: { blocked: false },
  });
  // The tests ran with the patch applied, by mocha from the installed (cached) tree.
  expect(waiting.tests).toMatchObject({
    ok: true,
    tests: { ok: true, runner: 'mocha', tests: 11, pass: 11, fail: 0 },
    setup: { manager: 'npm', cacheHit: true, cacheKey: installedKey },
  });
  expect((waiting.tests as { tests: { outputTail: string } }).tests.outputTail).toMatch(/11 passing/);

  const approved = await api.request('POST', `/api/proposals/${id}/review`, {
    key: operator,
    body: { decision: 'approve' },
  });
  expect(approved.body).toMatchObject({ status: 'applied', branch: proposalBranch(id) });
  expect(await git(repo, ['show', `${proposalBranch(id)}:src/catalog.js`])).toContain(
    `term = String(term).replace(/'/g, "''");`,
  );
});

it("leaves the user's checkout as it was: same branch and head, clean tree, no node_modules", async () => {
  expect((await git(repo, ['rev-parse', 'HEAD'])).trim()).toBe(head);
  expect((await git(repo, ['branch', '--show-current'])).trim()).toBe('main');
  expect(await git(repo, ['status', '--porcelain', '--ignored'])).toBe('');
  expect(existsSync(path.join(repo, 'node_modules'))).toBe(false);
});
