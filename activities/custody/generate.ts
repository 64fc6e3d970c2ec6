import { ApplicationFailure } from '@temporalio/activity';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { LlmOutputOf } from '../../src/contracts';
import { LLM_OUTPUT_SCHEMAS } from '../../src/contracts';
import { ExamItem } from '../../src/db/entities';
import { requiresCodeItem, normalizePrompt, SEEN_ITEM_WINDOW_DAYS } from '../../src/domain/custody';
import type { LlmGateway } from '../../src/llm';
import { activityCallContext, toFailure } from '../llm.activities';
import { fork, loadExam, recordStep } from './shared';

type GeneratedItem = LlmOutputOf<'custody.items'>['items'][number];
const MAX_REPLACEMENT_ROUNDS = 2;

/**
 * Step 3 of §3.1: the examiner writes the items; items the agent saw in the last 30 days are replaced (up to two more
 * rounds). Stored once: a retry (or a new worker after a crash) finds the items and makes no second LLM call.
 * Throws non-retryable `ExamItemsInvalid` when the examiner cannot produce a valid, fresh set.
 */
export async function generateItems(orm: MikroORM, llm: LlmGateway, examId: string): Promise<{ itemCount: number; kinds: string[] }> {
  const em = fork(orm);
  const stored = await em.find(ExamItem, { examId }, { orderBy: { position: 'asc' } });
  if (stored.length > 0) return { itemCount: stored.length, kinds: stored.map((i) => i.kind) };
  const exam = await loadExam(em, examId);
  const seen = new Set(
    ((await em.getConnection().execute(
      `select i.normalized_prompt from exam_items i join exams e on e.id = i.exam_id
        where e.agent_id = ? and i.created_at > now() - ? * interval '1 day'`,
      [exam.agentId, SEEN_ITEM_WINDOW_DAYS],
    )) as Array<{ normalized_prompt: string }>).map((r) => r.normalized_prompt),
  );

  const needCode = requiresCodeItem(exam.category);
  let items: GeneratedItem[] = [];
  for (let round = 0; round <= MAX_REPLACEMENT_ROUNDS && items.length < exam.itemCount; round++) {
    const wanted = exam.itemCount - items.length;
    const mustBeCode = needCode && !items.some((i) => i.kind === 'code');
    const avoid = [...seen].slice(-50);
    const fresh = (await askExaminer(llm, exam, wanted, mustBeCode, avoid)).filter((item) => {
      const key = normalizePrompt(item.prompt);
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
    items = [...items, ...fresh].slice(0, exam.itemCount);
  }
  if (items.length < exam.itemCount) {
    throw ApplicationFailure.nonRetryable(`the examiner gave ${items.length} fresh items of ${exam.itemCount} after ${MAX_REPLACEMENT_ROUNDS} replacement rounds`, 'ExamItemsInvalid');
  }
  if (needCode && !items.some((i) => i.kind === 'code')) {
    throw ApplicationFailure.nonRetryable(`a ${exam.category} exam needs a code item and the examiner gave none`, 'ExamItemsInvalid');
  }

  await em.transactional(async (tx) => {
    for (const [position, item] of items.entries()) {
      tx.persist(
        new ExamItem({
          examId,
          position,
          kind: item.kind,
          prompt: item.prompt,
          normalizedPrompt: normalizePrompt(item.prompt),
          rubric: item.kind === 'open' ? (item.rubric ?? null) : null,
          hiddenTests: item.kind === 'code' ? { functionName: item.functionName ?? '', cases: (item.tests ?? []).map((t) => ({ args: t.args, expected: t.expected })) } : null,
        }),
      );
    }
  });
  await recordStep(orm, examId, 'generate', `${items.length} items (${items.map((i) => i.kind).join(', ')})`);
  return { itemCount: items.length, kinds: items.map((i) => i.kind) };
}

async function askExaminer(
  llm: LlmGateway,
  exam: { agentId: string; category: string; difficulty: string; olympus: boolean },
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
        profile: 'examiner',
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
