import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { EntityManager } from '@mikro-orm/postgresql';
import { Context } from '@temporalio/activity';
import type { Activities } from '../../activities';
import { scanTarget } from '../../activities/guardian/scan';
import type { Config } from '../../src/config';
import {
  agentRunWorkflowId,
  GUARDIAN_SCAN_WORKFLOW,
  type AgentRunInput,
  type GuardianScanResult,
} from '../../src/contracts';
import { Agent, AgentRun, Finding, Notification } from '../../src/db/entities';
import { git } from '../../src/target';
import { presentFinding } from '../../src/api/routes/guardian/presenter';
import { testConfig } from '../helpers/config';
import { recordHistory } from '../helpers/histories';
import { triageAllTruePositive, useLlmTestBed } from '../helpers/llm';
import { createTestWorker } from '../helpers/worker';

const WORKFLOWS = require.resolve('../../workflows');
const bed = useLlmTestBed();
const em = () => bed.orm.em.fork() as EntityManager;
let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'lvlup-guardian-'));
});
afterAll(() => rm(dataDir, { recursive: true, force: true }));

function scriptTriage(): void {
  bed.fakes.reset();
  bed.fakes.openai.when('You are Guardian', triageAllTruePositive);
}

async function scan(
  env: Record<string, string> = {},
  faults?: (config: Config) => Partial<Activities>,
): Promise<GuardianScanResult | Error> {
  const config = testConfig(
    bed.db.url,
    bed.fakes.env({ LLM_PROFILE_FALLBACK: '', ANTHROPIC_API_KEY: '', DATA_DIR: dataDir, ...env }),
  );
  const worker = await createTestWorker(config, bed.orm, { workflowsPath: WORKFLOWS, faults: faults?.(config) });
  try {
    const input: AgentRunInput = { trigger: 'api', timeouts: { scanMs: 120_000, llmMs: 10_000, dbMs: 10_000 } };
    return await worker.run(() =>
      worker.client.workflow
        .execute(GUARDIAN_SCAN_WORKFLOW, {
          args: [input],
          taskQueue: worker.taskQueue,
          workflowId: agentRunWorkflowId('guardian-scan', randomUUID()),
        })
        .catch((err: Error) => err),
    );
  } finally {
    await worker.close();
  }
}

it('finds the example target’s hard-coded secret and injections with the real tools, triages them and notifies', async () => {
  scriptTriage();
  const result = (await scan()) as GuardianScanResult;
  expect(result).toMatchObject({ status: 'completed', triage: { triaged: expect.any(Number) } });
  expect(result.findings?.new).toBeGreaterThanOrEqual(3);
  expect(result.tools?.find((t) => t.tool === 'secretlint')).toMatchObject({ status: 'ok' });

  const open = await em().find(Finding, { status: 'open' });
  const secret = open.find((f) => f.tool === 'secretlint' && f.file === 'src/config.js');
  expect(secret).toBeDefined();
  expect(secret?.message).not.toMatch(/[A-Za-z0-9/+]{40}/);
  expect(open.find((f) => f.rule === 'security/detect-child-process' && f.file === 'src/users.js')).toBeDefined();
  expect(open.find((f) => f.rule === 'lvlup/sql-concatenation' && f.file === 'src/users.js')).toMatchObject({
    severity: 'high',
  });
  expect(secret?.triage).toMatchObject({ verdict: 'true_positive', provider: 'openai' });
  expect(await em().count(Notification, { kind: 'security_finding' })).toBeGreaterThanOrEqual(3);
  const run = await em().findOneOrFail(AgentRun, { id: result.runId });
  expect(run).toMatchObject({ status: 'completed', kind: 'guardian_scan' });
  expect(run.commit).toMatch(/^[0-9a-f]{40}$/);
  await recordHistory(run.workflowId, 'guardian-scan-completed');
});

it('dedupes on a second scan, resolves a fixed flaw, and never writes to the target’s branch', async () => {
  scriptTriage();
  const repo = path.join(dataDir, 'target');
  const before = await em().count(Finding, {});
  const again = (await scan()) as GuardianScanResult;
  expect(again.findings).toMatchObject({ new: 0, resolved: 0 });
  expect(await em().count(Finding, {})).toBe(before);
  expect(await git(repo, ['status', '--porcelain'])).toBe('');

  // A developer fixes the SQL injection on the target's branch.
  const file = path.join(repo, 'src', 'users.js');
  const source = await readFile(file, 'utf8');
  const fixed = source.replace(
    `"SELECT id, name, email FROM users WHERE name = '" + name + "'"`,
    `'SELECT id, name, email FROM users WHERE name = $1'`,
  );
  expect(fixed).not.toBe(source);
  await writeFile(file, fixed);
  await git(repo, ['-c', 'user.name=dev', '-c', 'user.email=dev@example.com', 'commit', '-qam', 'fix sql injection']);
  const afterFix = (await scan()) as GuardianScanResult;
  expect(afterFix.findings?.resolved).toBeGreaterThanOrEqual(1);
  const sql = await em().find(Finding, { rule: 'lvlup/sql-concatenation', file: 'src/users.js' });
  expect(sql.filter((f) => f.status === 'resolved')).toHaveLength(1);
});

it('still scans and stores findings with no LLM provider, saying triage was unavailable', async () => {
  await em().execute('delete from findings');
  const result = (await scan({
    OPENAI_API_KEY: '',
    OPENAI_BASE_URL: '',
    LLM_PROFILE_PRIMARY: '',
  })) as GuardianScanResult;
  expect(result.status).toBe('completed');
  expect(result.findings?.new).toBeGreaterThan(0);
  expect(result.triage?.unavailable).toMatch(/LlmNotConfigured/);
  expect(await em().count(Finding, { status: 'open' })).toBe(result.findings?.total);
});

it('skips the scan while Guardian is paused and records the skip', async () => {
  await em().nativeUpdate(Agent, { id: 'guardian' }, { status: 'paused', statusReason: 'maintenance' });
  try {
    const result = (await scan()) as GuardianScanResult;
    expect(result.status).toBe('skipped');
    expect(await em().findOneOrFail(AgentRun, { id: result.runId })).toMatchObject({
      status: 'skipped',
      error: expect.stringMatching(/paused: maintenance/),
    });
  } finally {
    await em().nativeUpdate(Agent, { id: 'guardian' }, { status: 'active', statusReason: null });
  }
});

it('a scan retried after its findings committed still triages and notifies each new finding, once', async () => {
  scriptTriage();
  await em().execute(`delete from findings; delete from notifications where kind = 'security_finding'`);
  // The first attempt commits the findings and dies before its outcome is stored on the run (a worker lost there).
  const crashAfterCommit = (config: Config): Partial<Activities> => ({
    guardianScan: async (runId: string) => {
      const outcome = await scanTarget({ orm: bed.orm, config }, runId);
      if (Context.current().info.attempt > 1) return outcome;
      await em().execute(`update agent_runs set summary = summary - 'scan' where id = ?`, [runId]);
      throw new Error('worker lost after the findings committed');
    },
  });
  const result = (await scan({}, crashAfterCommit)) as GuardianScanResult;
  expect(result.status).toBe('completed');

  const found = await em().find(Finding, { firstRunId: result.runId });
  expect(found.length).toBeGreaterThanOrEqual(3);
  expect(result.findings?.new).toBe(found.length);
  expect(found.filter((f) => f.triage === null)).toEqual([]);
  const serious = found.filter((f) => f.severity === 'high' || f.severity === 'critical');
  expect(serious.length).toBeGreaterThan(0);
  const notified = await em().find(Notification, { kind: 'security_finding' });
  expect(notified.map((n) => n.data.findingId).sort()).toEqual(serious.map((f) => f.id).sort());
});

it('notifies a serious finding again when a later scan reopens it, once', async () => {
  scriptTriage();
  const [serious] = await em().find(
    Finding,
    { severity: { $in: ['high', 'critical'] }, status: 'open' },
    { orderBy: { id: 'asc' } },
  );
  if (serious === undefined) throw new Error('the previous test left no serious finding');
  await em().nativeUpdate(Finding, { id: serious.id }, { status: 'resolved', resolvedAt: new Date() });

  const result = (await scan()) as GuardianScanResult;
  expect(result.findings?.reopened).toBe(1);
  expect(await em().findOneOrFail(Finding, { id: serious.id })).toMatchObject({
    status: 'open',
    openedRunId: result.runId,
  });
  expect(await em().count(Notification, { kind: 'security_finding', data: { findingId: serious.id } })).toBe(2);
});

it('stores the triage’s severity assessment beside the scanner’s, and notifies a finding the triage rates critical', async () => {
  bed.fakes.reset();
  bed.fakes.openai.when('You are Guardian', (req) => triageAllTruePositive(req, 'critical'));
  await em().execute(`delete from findings; delete from notifications where kind = 'security_finding'`);
  const result = (await scan()) as GuardianScanResult;
  expect(result.status).toBe('completed');

  const found = await em().find(Finding, { firstRunId: result.runId });
  const quiet = found.filter((f) => f.severity === 'low' || f.severity === 'medium');
  expect(quiet.length).toBeGreaterThan(0);
  for (const f of found)
    expect(presentFinding(f).triage).toMatchObject({ verdict: 'true_positive', severity: 'critical' });
  const notified = await em().find(Notification, { kind: 'security_finding' });
  expect(notified.map((n) => n.data.findingId).sort()).toEqual(found.map((f) => f.id).sort());
  const raised = notified.find((n) => n.data.findingId === quiet[0]?.id);
  expect(raised).toMatchObject({
    priority: 'critical',
    data: { severity: 'critical', scannerSeverity: quiet[0]?.severity, triageSeverity: 'critical' },
  });
  expect(raised?.message).toMatch(/raised by Guardian's triage/);
});

it('triages with Guardian’s own model when one is set on the agent (PUT /api/agents/guardian/model)', async () => {
  scriptTriage();
  await em().execute(`delete from findings; delete from notifications where kind = 'security_finding'`);
  await em().nativeUpdate(Agent, { id: 'guardian' }, { llmProvider: 'openai', llmModel: 'guardian-own-model' });
  try {
    const result = (await scan()) as GuardianScanResult;
    const found = await em().find(Finding, { firstRunId: result.runId });
    expect(found.length).toBeGreaterThan(0);
    for (const f of found) expect(f.triage).toMatchObject({ provider: 'openai', model: 'guardian-own-model' });
    expect(bed.fakes.openai.requests.filter((r) => r.prompt.includes('You are Guardian')).map((r) => r.model)).toEqual([
      'guardian-own-model',
    ]);
  } finally {
    await em().nativeUpdate(Agent, { id: 'guardian' }, { llmProvider: null, llmModel: null });
  }
});
