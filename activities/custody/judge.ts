import { LLM_OUTPUT_SCHEMAS, type LlmOutputOf } from '../../src/contracts';
import type { ExamItem, GradingRun } from '../../src/db/entities';
import type { AgentId } from '../../src/domain/agents';
import {
  matchJudgedCriteria,
  openItemScore,
  withCriterionIds,
  type CriteriaMatch,
  type IdentifiedCriterion,
} from '../../src/domain/custody';
import { untrusted, withUntrustedRule, type ChatMessage, type LlmGateway, type LlmRequest } from '../../src/llm';
import { askModel } from '../llm.activities';

type Judged = LlmOutputOf<'custody.grade'>['criteria'];

/**
 * One judging of an open item: the judge scores each rubric criterion by its id (0–10 with a reason); item score =
 * weighted mean × 10. When the judge leaves a criterion without exactly one score (it renamed it, omitted it or
 * scored it twice), one repair turn shows it its answer and asks for those ids only; the scores are merged. A
 * criterion still unscored after that makes the run a grading error (`score` null, `error` naming the criteria) —
 * never a 0. `profile` is the judging model (the exam's judge, or its audit judge). Throws the LLM call's
 * ApplicationFailure when the judge cannot be asked.
 */
export async function judgeOpen(
  llm: LlmGateway,
  agentId: AgentId,
  item: ExamItem,
  run: number,
  profile: LlmRequest['profile'],
): Promise<GradingRun> {
  const rubric = withCriterionIds(item.rubric ?? []);
  const ask = async (messages: ChatMessage[]): Promise<Judged> =>
    (
      await askModel(llm, {
        agentId,
        purpose: 'exam.grade',
        profile,
        schema: LLM_OUTPUT_SCHEMAS['custody.grade'],
        schemaName: 'grade',
        messages,
        maxTokens: 1200,
        // Re-judging a borderline exam wants independent opinions, not the cached first one.
        temperature: run === 1 ? 0 : 0.7,
        cacheTtlSeconds: 0,
      })
    ).output.criteria;

  const messages: ChatMessage[] = [
    {
      role: 'system',
      content: withUntrustedRule(
        'You are a strict, fair judge of exam answers. Score each rubric criterion, by its id, from 0 to 10 and give a one-sentence reason.',
      ),
    },
    // The answer is the examined model's output (drawn from notes on the repository): graded, never obeyed.
    {
      role: 'user',
      content: `Question:\n${item.prompt}\n\nRubric (score every criterion exactly once, by its id):\n${listCriteria(rubric)}\n\nAnswer:\n${untrusted("the examined agent's answer", item.answer ?? '')}`,
    },
  ];
  const first = await ask(messages);
  const match = matchJudgedCriteria(
    rubric.map((c) => c.id),
    first,
  );
  const scored = new Map(match.scored);
  if (match.missing.length > 0) {
    const missing = rubric.filter((c) => match.missing.includes(c.id));
    const repair = await ask([
      ...messages,
      { role: 'assistant', content: JSON.stringify({ criteria: first }) },
      { role: 'user', content: repairPrompt(missing, match) },
    ]);
    for (const [id, s] of matchJudgedCriteria(match.missing, repair).scored) scored.set(id, s);
  }

  const criteria = rubric.flatMap((c) => {
    const s = scored.get(c.id);
    return s === undefined ? [] : [{ id: c.id, name: c.name, weight: c.weight, score: s.score, reason: s.reason }];
  });
  const unscored = rubric.filter((c) => !scored.has(c.id));
  if (unscored.length > 0) {
    return {
      score: null,
      error: `the judge did not score criteria ${unscored.map((c) => `${c.id} (${c.name})`).join(', ')}, even after a repair turn`,
      criteria,
    };
  }
  return { score: openItemScore(criteria), criteria };
}

function listCriteria(rubric: readonly IdentifiedCriterion[]): string {
  return rubric.map((c) => `- id "${c.id}": ${c.name} (weight ${c.weight}): ${c.description}`).join('\n');
}

/** The repair turn's request: what was wrong with the judge's answer, and the criteria it still has to score. */
function repairPrompt(missing: readonly IdentifiedCriterion[], match: CriteriaMatch): string {
  const problems = [
    `not scored: ${
      missing
        .filter((c) => !match.duplicated.includes(c.id))
        .map((c) => c.id)
        .join(', ') || 'none'
    }`,
    match.duplicated.length > 0 ? `scored more than once: ${match.duplicated.join(', ')}` : '',
    match.unknown.length > 0
      ? `ids not in the rubric: ${match.unknown.map((id) => JSON.stringify(id)).join(', ')}`
      : '',
  ].filter(Boolean);
  return (
    `Your answer did not score every rubric criterion exactly once by its id (${problems.join('; ')}). ` +
    `Score these criteria now, each exactly once, with "id" set to the criterion's id:\n${listCriteria(missing)}`
  );
}
