import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Config } from '../../src/config';
import { custodyWorkflowId } from '../../src/contracts';
import { storeExamPlan } from '../../src/db/exam-plan';
import { startTestApi, type TestApi } from '../helpers/api';
import { testConfig } from '../helpers/config';
import { createTestDatabase, type TestDatabase } from '../helpers/database';

let db: TestDatabase;
let api: TestApi;
let config: Config;

beforeAll(async () => {
  db = await createTestDatabase();
  config = testConfig(db.url, {
    CUSTODY_PASS_MARK: '80',
    CUSTODY_XP_MULTIPLIERS: '1,2,3,4,5,6',
    CONQUEST_REGRESSION_PCT: '25',
  });
  api = await startTestApi(config);
});
afterAll(async () => {
  await api.close();
  await db.drop();
});

it('shows every effective rule with its variable and the spec default', async () => {
  const res = await api.request('GET', '/api/custody/rules', { key: await api.key('viewer') });
  expect(res.status).toBe(200);
  const items = (
    res.body as { items: Array<{ rule: string; env: string; value: unknown; default: unknown; meaning: string }> }
  ).items;
  expect(items).toContainEqual({
    rule: 'passMark',
    env: 'CUSTODY_PASS_MARK',
    value: 80,
    default: 70,
    meaning: 'pass mark of a regular exam (0–100)',
  });
  expect(items).toContainEqual(
    expect.objectContaining({ rule: 'olympusPassMark', env: 'CUSTODY_OLYMPUS_PASS_MARK', value: 90, default: 90 }),
  );
  expect(items).toContainEqual(
    expect.objectContaining({
      rule: 'xpMultipliers',
      value: { basic: 1, intermediate: 2, advanced: 3, expert: 4, master: 5, legendary: 6 },
      default: { basic: 1, intermediate: 1.5, advanced: 2, expert: 3, master: 4, legendary: 5 },
    }),
  );
  expect(items).toContainEqual(
    expect.objectContaining({ rule: 'eligibilityOpenProposalLimit', env: 'ELIGIBILITY_OPEN_PROPOSAL_LIMIT', value: 5 }),
  );
  expect(items).toContainEqual(
    expect.objectContaining({ rule: 'conquest.regressionPct', env: 'CONQUEST_REGRESSION_PCT', value: 25, default: 20 }),
  );
  expect(items).toHaveLength(24);
  expect(items.every((i) => i.meaning.length > 0)).toBe(true);
});

it('is for API keys only', async () => {
  expect((await api.request('GET', '/api/custody/rules')).status).toBe(401);
});

it('the categories carry the configured XP multipliers', async () => {
  const res = await api.request('GET', '/api/custody/categories', { key: await api.key('viewer') });
  expect(res.body).toMatchObject({
    difficulties: expect.arrayContaining([expect.objectContaining({ id: 'intermediate', xpMultiplier: 2 })]),
  });
});

it('an exam shows the rules it was planned under', async () => {
  const planned = await storeExamPlan(
    api.orm.em.fork() as EntityManager,
    {
      agentId: 'guardian',
      trigger: 'api',
      examId: randomUUID(),
      workflowId: custodyWorkflowId('guardian', randomUUID()),
    },
    config.rules,
  );
  if ('refused' in planned) throw new Error(planned.message);
  const res = await api.request('GET', `/api/custody/tests/${planned.id}`, { key: await api.key('viewer') });
  expect(res.body).toMatchObject({
    passMark: 80,
    rules: { passMark: 80, borderlineMargin: 5, xpMultipliers: { intermediate: 2 } },
  });
});
