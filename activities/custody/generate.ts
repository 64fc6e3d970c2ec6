import { ApplicationFailure } from '@temporalio/activity';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { LlmOutputOf } from '../../src/contracts';
import { LLM_OUTPUT_SCHEMAS } from '../../src/contracts';
import { ExamItem, type Exam } from '../../src/db/entities';
import { requiresCodeItem, normalizePrompt, SEEN_ITEM_WINDOW_DAYS, withCriterionIds } from '../../src/domain/custody';
import type { LlmGateway } from '../../src/llm';
import { activityCallContext, toFailure } from '../llm.activities';
import { examProfile, fork, loadExam, recordStep } from './shared';

type GeneratedItem = LlmOutputOf<'custody.items'>['items'][number];
const MAX_REPLACEMENT_ROUNDS = 2;

/**
 * Step 3 of §3.1: the examiner writes the items; items the agent saw in the last 30 days are replaced (up to two more
 * rounds). Each round's items are stored as soon as they come (keyed on the exam and position), so a retry (or a new
 * worker after a crash or a timeout) asks only for the items still missing, and none once all are stored.
 * Throws non-retryable `ExamItemsInvalid` when the examiner cannot produce a valid, fresh set.
 */
export async function generateItems(orm: MikroORM, llm: LlmGateway, examId: string): Promise<{ itemCount: number; kinds: string[] }> {
  const em = fork(orm);
  const storedItems = () => fork(orm).find(ExamItem, { examId }, { orderBy: { position: 'asc' } });
  let stored = await storedItems();
  const exam = await loadExam(em, examId);
  if (stored.length >= exam.itemCount) return { itemCount: stored.length, kinds: stored.map((i) => i.kind) };
  const seen = new Set(
    ((await em.getConnection().execute(
      `select i.normalized_prompt from exam_items i join exams e on e.id = i.exam_id
        where e.agent_id = ? and i.created_at > now() - ? * interval '1 day'`,
      [exam.agentId, SEEN_ITEM_WINDOW_DAYS],
    )) as Array<{ normalized_prompt: string }>).map((r) => r.normalized_prompt),
  );

  const needCode = requiresCodeItem(exam.category);
  for (let round = 0; round <= MAX_REPLACEMENT_ROUNDS && stored.length < exam.itemCount; round++) {
    const wanted = exam.itemCount - stored.length;
    const mustBeCode = needCode && !stored.some((i) => i.kind === 'code');
    const avoid = [...seen].slice(-50);
    const fresh = (await askExaminer(llm, exam, wanted, mustBeCode, avoid))
      .filter((item) => {
        const key = normalizePrompt(item.prompt);
        if (seen.has(key)) return false;
        seen.add(key);
        return true;
      })
      .slice(0, wanted);
    if (fresh.length > 0) {
      await storeItems(orm, examId, stored.length, fresh);
      stored = await storedItems();
    }
  }
  if (stored.length < exam.itemCount) {
    throw ApplicationFailure.nonRetryable(`the examiner gave ${stored.length} fresh items of ${exam.itemCount} after ${MAX_REPLACEMENT_ROUNDS} replacement rounds`, 'ExamItemsInvalid');
  }
  if (needCode && !stored.some((i) => i.kind === 'code')) {
    throw ApplicationFailure.nonRetryable(`a ${exam.category} exam needs a code item and the examiner gave none`, 'ExamItemsInvalid');
  }
  await recordStep(orm, examId, 'generate', `${stored.length} items (${stored.map((i) => i.kind).join(', ')})`);
  return { itemCount: stored.length, kinds: stored.map((i) => i.kind) };
}

/**
 * Stores items at positions `from`, `from + 1`, … in one statement, each rubric criterion with its id; a position
 * already stored (a concurrent attempt got there first) keeps what it has.
 */
async function storeItems(orm: MikroORM, examId: string, from: number, items: GeneratedItem[]): Promise<void> {
  const rows = items.map((item, i) => [
    examId,
    from + i,
    item.kind,
    item.prompt,
    normalizePrompt(item.prompt),
    // Each criterion gets its id here (c1, c2, …): the judge scores by id, never by the name it might reword.
    item.kind === 'open' ? JSON.stringify(item.rubric === undefined ? null : withCriterionIds(item.rubric)) : null,
    item.kind === 'code' ? JSON.stringify({ functionName: item.functionName ?? '', cases: (item.tests ?? []).map((t) => ({ args: t.args, expected: t.expected })) }) : null,
  ]);
  await orm.em.getConnection().execute(
    `insert into exam_items (exam_id, position, kind, prompt, normalized_prompt, rubric, hidden_tests, created_at)
     values ${rows.map(() => '(?, ?, ?, ?, ?, ?::jsonb, ?::jsonb, now())').join(', ')}
     on conflict (exam_id, position) do nothing`,
    rows.flat(),
    'run',
  );
}

async function askExaminer(
  llm: LlmGateway,
  exam: Pick<Exam, 'agentId' | 'category' | 'difficulty' | 'olympus' | 'models'>,
  count: number,
  mustBeCode: boolean,
  avoid: string[],
): Promise<GeneratedItem[]> {
  const rules = [
    `Write ${count} exam item(s) testing an AI software agent (${exam.agentId}) in the category "${exam.category}" at ${exam.difficulty} difficulty${exam.olympus ? ' (an Olympus Treaty exam: make them harder than usual)' : ''}.`,
    'Each item is either kind "open" (a free-text question with a rubric of 2–5 weighted criteria, each scored 0–10 by a judge) or kind "code" (write one JavaScript function).',
    'A code item names the function in "functionName", asks for it in "prompt" (signature and behaviour), and gives 3–10 hidden "tests": JSON arguments and the exact JSON value the function must return. Functions must be pure and synchronous.',
    mustBeCode ? 'At least one item MUST be of kind "code".' : 'Choose the kinds that test the category best.',
    avoid.length > 0 ? `Do not reuse any of these recent prompts:\n- ${avoid.join('\n- ')}` : '',
  ].filter(Boolean);
  try {
    const result = await llm.complete(
      {
        agentId: exam.agentId as never,
        purpose: 'exam.generate',
        profile: examProfile(exam, 'examiner'),
        schema: LLM_OUTPUT_SCHEMAS['custody.items'],
        schemaName: 'exam_items',
        messages: [
          { role: 'system', content: 'You are a rigorous examiner of AI software-engineering agents. You answer with JSON only.' },
          { role: 'user', content: rules.join('\n\n') },
        ],
        maxTokens: 4000,
        temperature: 0.7,
        cacheTtlSeconds: 0,
      },
      activityCallContext(),
    );
    return result.output.items.filter((i) => (i.kind === 'open' ? (i.rubric?.length ?? 0) > 0 : i.functionName !== undefined && (i.tests?.length ?? 0) >= 2));
  } catch (err) {
    throw toFailure(err);
  }
}
