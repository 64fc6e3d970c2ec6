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
/** Requests after the examiner's first answer, for what it left out, gave invalid or repeated from the last 30 days. */
const MAX_FOLLOW_UPS = 2;
/** The fewest hidden tests a code item may have. */
const MIN_CODE_CASES = 2;
const CODE_ITEM_WANTED = `one item of kind "code" with "functionName" and at least ${MIN_CODE_CASES} "tests"`;

/**
 * Step 3 of §3.1: the examiner writes the items. What its answer lacks against the plan (items short, invalid ones —
 * an open item without a rubric, a code item without a function name or tests —, items the agent saw in the last 30
 * days, or the code item the category requires) is asked for again, naming what is missing, up to `MAX_FOLLOW_UPS`
 * times. Items are stored as soon as they come (keyed on the exam and position), so a retry (or a new worker after a
 * crash or a timeout) asks only for the items still missing, and none once all are stored; the last free position is
 * kept for the code item until one comes.
 * Throws non-retryable `ExamItemsInvalid` naming what the examiner failed to give after the follow-ups.
 */
export async function generateItems(
  orm: MikroORM,
  llm: LlmGateway,
  examId: string,
): Promise<{ itemCount: number; kinds: string[] }> {
  const em = fork(orm);
  const storedItems = () => fork(orm).find(ExamItem, { examId }, { orderBy: { position: 'asc' } });
  let stored = await storedItems();
  const exam = await loadExam(em, examId);
  if (stored.length >= exam.itemCount) return { itemCount: stored.length, kinds: stored.map((i) => i.kind) };
  const seen = new Set(
    (
      (await em.getConnection().execute(
        `select i.normalized_prompt from exam_items i join exams e on e.id = i.exam_id
        where e.agent_id = ? and i.created_at > now() - ? * interval '1 day'`,
        [exam.agentId, SEEN_ITEM_WINDOW_DAYS],
      )) as Array<{ normalized_prompt: string }>
    ).map((r) => r.normalized_prompt),
  );

  const needCode = requiresCodeItem(exam.category);
  let shortfall = '';
  for (let request = 0; request <= MAX_FOLLOW_UPS && stored.length < exam.itemCount; request++) {
    const wanted = exam.itemCount - stored.length;
    const mustBeCode = needCode && !stored.some((i) => i.kind === 'code');
    const answer = await askExaminer(llm, exam, { count: wanted, mustBeCode, avoid: [...seen].slice(-50), shortfall });
    const { items, rejected } = selectItems(answer, { wanted, mustBeCode, seen });
    if (items.length > 0) {
      await storeItems(orm, examId, stored.length, items);
      stored = await storedItems();
    }
    shortfall = describeShortfall(
      exam.itemCount - stored.length,
      needCode && !stored.some((i) => i.kind === 'code'),
      rejected,
    );
  }
  if (stored.length < exam.itemCount) {
    throw ApplicationFailure.nonRetryable(
      `the examiner failed to give ${shortfall} for a ${exam.category} exam of ${exam.itemCount} items after ${MAX_FOLLOW_UPS} follow-up requests`,
      'ExamItemsInvalid',
    );
  }
  await recordStep(orm, examId, 'generate', `${stored.length} items (${stored.map((i) => i.kind).join(', ')})`);
  return { itemCount: stored.length, kinds: stored.map((i) => i.kind) };
}

/** Why an item of the examiner's answer cannot be used, or null when it can. */
function invalidReason(item: GeneratedItem): string | null {
  if (item.kind === 'open') return (item.rubric?.length ?? 0) > 0 ? null : 'an open item without a rubric';
  if (item.functionName === undefined) return 'a code item without "functionName"';
  return (item.tests?.length ?? 0) >= MIN_CODE_CASES ? null : `a code item with fewer than ${MIN_CODE_CASES} "tests"`;
}

/**
 * The items of one answer to store: valid, not seen (adds them to `seen`), at most `wanted`; while the code item is
 * missing, one position stays free for it. `rejected` says why the others were left out.
 */
function selectItems(
  answer: GeneratedItem[],
  opts: { wanted: number; mustBeCode: boolean; seen: Set<string> },
): { items: GeneratedItem[]; rejected: string[] } {
  const rejected: string[] = [];
  const usable = answer.filter((item) => {
    const reason =
      invalidReason(item) ?? (opts.seen.has(normalizePrompt(item.prompt)) ? 'an item repeating a recent prompt' : null);
    if (reason !== null) rejected.push(reason);
    return reason === null;
  });
  const code = opts.mustBeCode ? usable.find((i) => i.kind === 'code') : undefined;
  const others = usable.filter((i) => i !== code).slice(0, opts.wanted - (opts.mustBeCode ? 1 : 0));
  const items = code === undefined ? others : [...others, code];
  for (const item of items) opts.seen.add(normalizePrompt(item.prompt));
  return { items, rejected };
}

/** What a follow-up asks for (empty when nothing is missing): the items still missing, the code item by name, and why earlier ones were left out. */
function describeShortfall(missing: number, codeMissing: boolean, rejected: string[]): string {
  if (missing <= 0) return '';
  const others = missing - (codeMissing ? 1 : 0);
  const wanted = [
    codeMissing ? CODE_ITEM_WANTED : '',
    others > 0 ? `${others} ${codeMissing ? 'more ' : ''}valid item(s)` : '',
  ];
  const why = rejected.length > 0 ? ` (left out: ${[...new Set(rejected)].join(', ')})` : '';
  return wanted.filter(Boolean).join(' and ') + why;
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
    item.kind === 'code'
      ? JSON.stringify({
          functionName: item.functionName ?? '',
          cases: (item.tests ?? []).map((t) => ({ args: t.args, expected: t.expected })),
        })
      : null,
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
  ask: { count: number; mustBeCode: boolean; avoid: string[]; shortfall: string },
): Promise<GeneratedItem[]> {
  const { count, mustBeCode, avoid, shortfall } = ask;
  const rules = [
    `Write ${count} exam item(s) testing an AI software agent (${exam.agentId}) in the category "${exam.category}" at ${exam.difficulty} difficulty${exam.olympus ? ' (an Olympus Treaty exam: make them harder than usual)' : ''}.`,
    shortfall !== ''
      ? `Your previous answer did not give what this exam needs. Still missing: ${shortfall}. Write exactly these ${count} item(s).`
      : '',
    'Each item is either kind "open" (a free-text question with a rubric of 2–5 weighted criteria, each scored 0–10 by a judge) or kind "code" (write one JavaScript function).',
    'A code item names the function in "functionName", asks for it in "prompt" (signature and behaviour), and gives 3–10 hidden "tests": JSON arguments and the exact JSON value the function must return. Functions must be pure and synchronous.',
    mustBeCode ? `At least one item MUST be ${CODE_ITEM_WANTED}.` : 'Choose the kinds that test the category best.',
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
          {
            role: 'system',
            content: 'You are a rigorous examiner of AI software-engineering agents. You answer with JSON only.',
          },
          { role: 'user', content: rules.join('\n\n') },
        ],
        maxTokens: 4000,
        temperature: 0.7,
        cacheTtlSeconds: 0,
      },
      activityCallContext(),
    );
    return result.output.items;
  } catch (err) {
    throw toFailure(err);
  }
}
