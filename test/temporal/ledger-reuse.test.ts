import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { CUSTODY_EXAM_WORKFLOW, custodyWorkflowId, type CustodyExamInput } from '../../src/contracts';
import { storeExamPlan } from '../../src/db/exam-plan';
import { Agent, Exam, ExamItem, TokenUsageEvent } from '../../src/db/entities';
import { testConfig } from '../helpers/config';
import { EXAM_PROMPTS, judgeReply, openItem } from '../helpers/custody';
import { useLlmTestBed } from '../helpers/llm';
import { createTestWorker } from '../helpers/worker';
import { DEFAULT_RULES } from '../../src/domain/rules';

/**
 * Nothing doubles (issue 14): an LLM call answered and paid for before its step's own write failed is not sent again
 * by the step's retry — the retry reuses the answer the ledger settled.
 */
const bed = useLlmTestBed();
const em = () => bed.orm.em.fork() as EntityManager;
const config = () => testConfig(bed.db.url, bed.fakes.env({ LLM_PROFILE_FALLBACK: '', ANTHROPIC_API_KEY: '' }));
const { examiner: EXAMINER, answering: ANSWERING, judge: JUDGE } = EXAM_PROMPTS;
const TIMEOUTS = { llmMs: 10_000, sandboxMs: 15_000, dbMs: 5000, heartbeatMs: 2000 };

/**
 * The database refuses the first statement a trigger guards, as a killed connection would (SQLSTATE 57P01, a transient
 * fault, retried by Temporal); later statements pass. A sequence counts the tries: its value survives the rollback.
 */
async function failFirstWrite(name: string, trigger: string): Promise<void> {
  await em().execute(`create sequence if not exists ${name}_tries`);
  await em().execute(`alter sequence ${name}_tries restart`);
  await em().execute(`create or replace function ${name}() returns trigger language plpgsql as $$
    begin
      if nextval('${name}_tries') = 1 then raise exception 'injected fault: the connection was lost' using errcode = '57P01'; end if;
      return new;
    end $$`);
  await em().execute(`drop trigger if exists ${name} on exam_items`);
  await em().execute(`create trigger ${name} ${trigger} on exam_items for each row execute function ${name}()`);
}

afterEach(async () => {
  for (const name of ['fail_items_insert', 'fail_answer_write', 'fail_grading_write'])
    await em().execute(`drop trigger if exists ${name} on exam_items`);
});

it("pays once for a call answered before its step's write failed: the retry reuses the settled answer, the exam is scored on it", async () => {
  await em().nativeUpdate(Agent, { id: 'guardian' }, { status: 'active', lastPassedAt: new Date() });
  bed.fakes.reset();
  bed.fakes.openai.when(EXAMINER, {
    json: { items: Array.from({ length: 3 }, (_, i) => openItem(i)) },
    usage: { input: 500, output: 300 },
  });
  bed.fakes.openai.when(ANSWERING, { text: 'A careful, complete answer.', delayMs: 400 });
  bed.fakes.openai.when(JUDGE, judgeReply(9));
  // Each step's first write after its call is lost: the items, one answer, one grading.
  await failFirstWrite('fail_items_insert', 'before insert');
  await failFirstWrite('fail_answer_write', 'before update of answer');
  await failFirstWrite('fail_grading_write', 'before update of grading');

  const workflowId = custodyWorkflowId('guardian', randomUUID());
  const input: CustodyExamInput = { agentId: 'guardian', trigger: 'api', timeouts: TIMEOUTS };
  const stored = await storeExamPlan(em(), { ...input, examId: randomUUID(), workflowId }, DEFAULT_RULES);
  if ('refused' in stored) throw new Error(stored.message);
  const worker = await createTestWorker(config(), bed.orm, { workflowsPath: require.resolve('../../workflows') });
  const result = await worker
    .run(() =>
      worker.client.workflow.execute(CUSTODY_EXAM_WORKFLOW, { args: [input], taskQueue: worker.taskQueue, workflowId }),
    )
    .finally(() => worker.close());

  expect(result).toMatchObject({ status: 'passed', score: 90 });
  // Every failing write was retried (the faults did happen) …
  for (const name of ['fail_items_insert', 'fail_answer_write', 'fail_grading_write']) {
    const [row] = (await em().execute(`select last_value from ${name}_tries`)) as Array<{ last_value: string }>;
    expect(Number(row?.last_value)).toBeGreaterThan(1);
  }
  // … and the provider was asked once per logical call: one item set, three answers, three gradings.
  const sent = (marker: string) => bed.fakes.openai.requests.filter((r) => r.prompt.includes(marker)).length;
  expect([sent(EXAMINER), sent(ANSWERING), sent(JUDGE)]).toEqual([1, 3, 3]);
  // One ok charge per logical call in the ledger, nothing else charged.
  const rows = await em().find(TokenUsageEvent, { workflowId }, { orderBy: { id: 'asc' } });
  const charged = (purpose: string) => rows.filter((r) => r.purpose === purpose).map((r) => r.outcome);
  expect([charged('exam.generate'), charged('exam.answer'), charged('exam.grade')]).toEqual([
    ['ok'],
    ['ok', 'ok', 'ok'],
    ['ok', 'ok', 'ok'],
  ]);
  expect(rows.find((r) => r.purpose === 'exam.generate')).toMatchObject({ inputTokens: 500, outputTokens: 300 });

  const exam = await em().findOneOrFail(Exam, { workflowId });
  const items = await em().find(ExamItem, { examId: exam.id }, { orderBy: { position: 'asc' } });
  expect(items).toHaveLength(3);
  for (const item of items) {
    expect(item).toMatchObject({
      answer: 'A careful, complete answer.',
      answerTimedOutAt: null,
      grading: { score: 90 },
    });
    // The reused answer keeps the time the agent's model took (the fake answers after 0.4 s), not the retry's.
    expect(item.answerMs).toBeGreaterThanOrEqual(400);
  }
}, 90_000);
