import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { syncTargetRepository } from '../../src/db/repositories';
import { Repository } from '../../src/db/entities';
import { useTestOrm } from '../helpers/database';

const bed = useTestOrm();
const em = () => bed.orm.em.fork() as EntityManager;

it('records the target once when processes start together on a fresh database (the API and its workers at `up`)', async () => {
  // Each pair: two processes' start-up records the same new target at the same moment.
  for (let i = 0; i < 5; i++) {
    const key = `/srv/target-${randomUUID()}`;
    const rows = await Promise.all(
      [1, 2].map(() => syncTargetRepository(em(), { key, name: 'target', testCmd: 'npm test', benchCmd: undefined })),
    );
    expect(rows[0]?.id).toBe(rows[1]?.id);
    expect(await em().count(Repository, { path: key })).toBe(1);
  }
});

it('keeps the row and its id, and takes the current test and bench commands', async () => {
  const key = `/srv/target-${randomUUID()}`;
  const first = await syncTargetRepository(em(), { key, name: 'target', testCmd: 'npm test', benchCmd: undefined });
  const again = await syncTargetRepository(em(), {
    key,
    name: 'target',
    testCmd: 'npm run test:ci',
    benchCmd: 'node bench.js',
  });
  expect(again).toMatchObject({
    id: first.id,
    path: key,
    name: 'target',
    testCmd: 'npm run test:ci',
    benchCmd: 'node bench.js',
  });
  const unchanged = await syncTargetRepository(em(), {
    key,
    name: 'target',
    testCmd: 'npm run test:ci',
    benchCmd: 'node bench.js',
  });
  expect(unchanged.updatedAt).toEqual(again.updatedAt);
  const cleared = await syncTargetRepository(em(), { key, name: 'target', testCmd: 'npm test', benchCmd: undefined });
  expect(cleared).toMatchObject({ id: first.id, testCmd: 'npm test', benchCmd: null });
});
