import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { EntityManager } from '@mikro-orm/postgresql';
import { CancelledFailure, WorkflowFailedError } from '@temporalio/client';
import { planExam } from '../../activities/custody/plan';
import { CUSTODY_EXAM_WORKFLOW, custodyWorkflowId, type CustodyExamInput } from '../../src/contracts';
import { storeExamPlan } from '../../src/db/exam-plan';
import { Agent, Exam } from '../../src/db/entities';
import { testConfig } from '../helpers/config';
import { EXAM_PROMPTS } from '../helpers/custody';
import { recordHistory } from '../helpers/histories';
import { useLlmTestBed } from '../helpers/llm';
import { createTestWorker } from '../helpers/worker';
import { DEFAULT_RULES } from '../../src/domain/rules';

/**
 * Every row ends right (issue 14): an exam cancelled from Temporal while its plan step is being stored ends
 * `cancelled` at once — not `running` until the reconciler — whether the API stored its row or the plan step does.
 */
const bed = useLlmTestBed();
const em = () => bed.orm.em.fork() as EntityManager;
const TIMEOUTS = { llmMs: 10_000, sandboxMs: 15_000, dbMs: 10_000 };

it.each([
  ['stored by the API before the workflow started', true],
  ['stored by the plan step (a scheduled exam)', false],
])(
  'ends an exam cancelled during its plan step cancelled, its row %s',
  async (_how, storedByApi) => {
    await em().execute(`delete from exams where agent_id = 'sandbox'`);
    await em().nativeUpdate(Agent, { id: 'sandbox' }, { status: 'active', lastPassedAt: new Date() });
    bed.fakes.reset();
    // The plan step is slow (a busy database): it stores the plan only once the test lets it.
    let planning = false;
    let release = (): void => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    let planned: Promise<unknown> = Promise.resolve();
    const config = testConfig(bed.db.url, bed.fakes.env({ LLM_PROFILE_FALLBACK: '', ANTHROPIC_API_KEY: '' }));
    const worker = await createTestWorker(config, bed.orm, {
      workflowsPath: require.resolve('../../workflows'),
      faults: {
        custodyPlan: (input) => {
          planning = true;
          planned = released.then(() => planExam(bed.orm, input, config.rules, config.llm.profiles));
          return planned as ReturnType<typeof planExam>;
        },
      },
    });
    const workflowId = custodyWorkflowId('sandbox', randomUUID());
    const input: CustodyExamInput = {
      agentId: 'sandbox',
      trigger: storedByApi ? 'api' : 'schedule',
      timeouts: TIMEOUTS,
    };
    if (storedByApi) {
      const stored = await storeExamPlan(em(), { ...input, examId: randomUUID(), workflowId }, DEFAULT_RULES);
      if ('refused' in stored) throw new Error(stored.message);
    }

    const outcome = await worker
      .run(async () => {
        const handle = await worker.client.workflow.start(CUSTODY_EXAM_WORKFLOW, {
          args: [input],
          taskQueue: worker.taskQueue,
          workflowId,
        });
        while (!planning) await sleep(50);
        await handle.cancel();
        await sleep(1000);
        release();
        await planned;
        return handle.result().catch((err: unknown) => err);
      })
      .finally(() => worker.close());

    expect(outcome).toBeInstanceOf(WorkflowFailedError);
    expect((outcome as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    const exam = await em().findOneOrFail(Exam, { workflowId });
    expect(exam).toMatchObject({ status: 'cancelled', error: 'cancelled in Temporal', score: null });
    expect(exam.completedAt).toBeInstanceOf(Date);
    // Nothing else happened: no item asked for, and the agent is free for its next exam.
    expect(bed.fakes.openai.requests.filter((r) => r.prompt.includes(EXAM_PROMPTS.examiner))).toHaveLength(0);
    expect(await em().count(Exam, { agentId: 'sandbox', status: 'running' })).toBe(0);
    if (storedByApi) await recordHistory(workflowId, 'custody-exam-cancelled-in-plan');
  },
  60_000,
);
