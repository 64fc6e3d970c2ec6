import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { Client } from 'pg';
import { APPROVAL_XP, learnFromReview } from '../../activities/proposals/lifecycle';
import { proposalWorkflowId } from '../../src/contracts';
import { Agent, Proposal } from '../../src/db/entities';
import { useTestOrm } from '../helpers/database';

const bed = useTestOrm();
const em = () => bed.orm.em.fork() as EntityManager;

async function approvedProposal(agentId: Agent['id']): Promise<string> {
  const id = randomUUID();
  await em().persistAndFlush(
    new Proposal({
      id,
      workflowId: proposalWorkflowId(id),
      agentId,
      findingId: null,
      goal: 'tidy the parser',
      trigger: 'api',
      requestedBy: 'ops',
    }),
  );
  return id;
}
const xpOf = async (agentId: Agent['id']) => (await em().findOneOrFail(Agent, { id: agentId })).xp;
const approve = { decision: 'approve' as const, reviewer: 'ops' };

it("adds the approval XP on top of an exam's XP committed meanwhile (never overwrites it), and once under a retry", async () => {
  await em().nativeUpdate(Agent, { id: 'guardian' }, { xp: 100 });
  const proposalId = await approvedProposal('guardian');
  // An exam finishing concurrently: it holds the agent's row, learning reads and waits, then the exam commits +50.
  const exam = new Client({ connectionString: bed.db.url });
  await exam.connect();
  try {
    await exam.query('begin');
    await exam.query(`select xp from agents where id = 'guardian' for update`);
    const learning = learnFromReview(bed.orm, proposalId, approve);
    await new Promise((resolve) => setTimeout(resolve, 500));
    await exam.query(`update agents set xp = xp + 50 where id = 'guardian'`);
    await exam.query('commit');
    expect(await learning).toMatchObject({ xp: APPROVAL_XP });
  } finally {
    await exam.end();
  }
  expect(await xpOf('guardian')).toBe(100 + 50 + APPROVAL_XP);

  expect(await learnFromReview(bed.orm, proposalId, approve)).toEqual({ xp: 0, noteId: null });
  expect(await xpOf('guardian')).toBe(100 + 50 + APPROVAL_XP);
});

it('adds the approval XP once when two attempts of the learning step run at the same time', async () => {
  await em().nativeUpdate(Agent, { id: 'sandbox' }, { xp: 10 });
  const proposalId = await approvedProposal('sandbox');
  const results = await Promise.all([
    learnFromReview(bed.orm, proposalId, approve),
    learnFromReview(bed.orm, proposalId, approve),
  ]);
  expect(results.map((r) => r.xp).sort()).toEqual([0, APPROVAL_XP]);
  expect(await xpOf('sandbox')).toBe(10 + APPROVAL_XP);
});
