import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { EntityManager } from '@mikro-orm/postgresql';
import { agentRunWorkflowId, CONQUEST_ANALYSIS_WORKFLOW, type AgentRunInput, type ConquestAnalysisResult } from '../../src/contracts';
import { AgentRun, Finding, Notification, PerformanceSample } from '../../src/db/entities';
import { git } from '../../src/target';
import { startTestApi } from '../helpers/api';
import { testConfig } from '../helpers/config';
import { recordHistory } from '../helpers/histories';
import { useLlmTestBed } from '../helpers/llm';
import { createTestWorker } from '../helpers/worker';

const bed = useLlmTestBed();
const em = () => bed.orm.em.fork() as EntityManager;
let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'lvlup-conquest-'));
});
afterAll(() => rm(dataDir, { recursive: true, force: true }));

const workflowIdOf = async (runId: string) => (await em().findOneOrFail(AgentRun, { id: runId })).workflowId;
const config = () => testConfig(bed.db.url, { DATA_DIR: dataDir });

async function analyse(): Promise<ConquestAnalysisResult> {
  const worker = await createTestWorker(config(), bed.orm, { workflowsPath: require.resolve('../../workflows') });
  try {
    const input: AgentRunInput = { trigger: 'api', timeouts: { scanMs: 120_000, dbMs: 10_000 } };
    return await worker.run(() =>
      worker.client.workflow.execute(CONQUEST_ANALYSIS_WORKFLOW, { args: [input], taskQueue: worker.taskQueue, workflowId: agentRunWorkflowId('conquest-analysis', randomUUID()) }),
    );
  } finally {
    await worker.close();
  }
}

it('measures the example target in the sandbox and detects the slowed function as a regression', async () => {
  const first = await analyse();
  expect(first).toMatchObject({ status: 'completed', ok: true, regressions: [] });
  expect(first.samples?.map((s) => s.name)).toEqual(expect.arrayContaining(['countDuplicates']));
  expect(first.samples?.every((s) => s.baselineMs === null)).toBe(true);

  // A developer makes countDuplicates four times slower on the target's branch.
  const repo = path.join(dataDir, 'target');
  const file = path.join(repo, 'src', 'stats.js');
  const source = await readFile(file, 'utf8');
  await writeFile(
    file,
    source.replace('function countDuplicates(values) {', 'function countDuplicates(values) {\n  for (let k = 0; k < 3; k++) countDuplicatesOnce(values);\n  return countDuplicatesOnce(values);\n}\n\nfunction countDuplicatesOnce(values) {'),
  );
  await git(repo, ['-c', 'user.name=dev', '-c', 'user.email=dev@example.com', 'commit', '-qam', 'slow down countDuplicates']);

  const second = await analyse();
  expect(second.regressions).toContain('countDuplicates');
  const sample = second.samples?.find((s) => s.name === 'countDuplicates');
  expect(sample?.change).toBeGreaterThan(0.2);
  const finding = await em().findOneOrFail(Finding, { kind: 'performance', agentId: 'conquest' });
  expect(finding).toMatchObject({ status: 'open', tool: 'bench', data: { measure: 'countDuplicates' } });
  expect(await em().count(Notification, { kind: 'performance_regression' })).toBe(1);
  expect(await em().count(PerformanceSample, { name: 'countDuplicates' })).toBe(2);
  await recordHistory(await workflowIdOf(second.runId), 'conquest-analysis-regression');
  expect(await git(repo, ['status', '--porcelain'])).toBe('');

  const api = await startTestApi(config());
  try {
    const viewer = await api.key('viewer');
    const perf = await api.request('GET', '/api/conquest/performance?measure=countDuplicates', { key: viewer });
    expect(perf.body).toMatchObject({ measures: [{ name: 'countDuplicates', latest: { regressed: true }, samples: [{ source: 'bench' }, { source: 'bench' }] }] });
    const runs = await api.request('GET', '/api/conquest/analyses', { key: viewer });
    expect(runs.body).toMatchObject({ page: { total: 2 } });
  } finally {
    await api.close();
  }
});
