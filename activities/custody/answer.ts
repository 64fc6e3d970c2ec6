import { performance } from 'node:perf_hooks';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { LLM_OUTPUT_SCHEMAS } from '../../src/contracts';
import { Agent, type Exam, type ExamItem } from '../../src/db/entities';
import type { AgentId } from '../../src/domain/agents';
import { UNTRUSTED_DATA_RULE, untrusted, type LlmGateway, type LlmRequest } from '../../src/llm';
import { activityCallContext, overrideProfile, toFailure } from '../llm.activities';
import { examProfile, fork, loadExam, loadItem, recordStep } from './shared';

/**
 * Step 4 of §3.1: the agent's own model answers one item, with its most relevant knowledge notes in context, within
 * the exam's time limit counted from the start of this attempt (what the limit measures is the agent's answering, so
 * an attempt lost to a crash costs it nothing). Out of time is the agent's own failure: the item is stored as not
 * answered in time (it scores 0) and the activity returns normally; a cancellation or a provider failure is thrown
 * with its retry meaning. Stored once, with the answering time: an answered or timed-out item is never asked again,
 * and an answer whose write failed is not asked again either (the gateway reuses it, with its original answering time).
 */
export async function answerItem(
  orm: MikroORM,
  llm: LlmGateway,
  examId: string,
  position: number,
): Promise<{ answered: boolean }> {
  const started = performance.now();
  const elapsedMs = () => Math.round(performance.now() - started);
  const em = fork(orm);
  const item = await loadItem(em, examId, position);
  if (item.answer !== null || item.answerTimedOutAt !== null) return { answered: item.answer !== null };
  const exam = await loadExam(em, examId);
  const limitMs = exam.timeLimitSeconds * 1000;
  // The time limit, not LLM_TIMEOUT_SECONDS, bounds the agent's model: the signal cuts the call (its repair, its
  // fallback) at the limit; the provider deadline is only a backstop behind it.
  const request = { ...(await answerRequest(em, exam, item)), timeoutMs: limitMs };
  const call = activityCallContext();
  const outOfTime = AbortSignal.timeout(Math.max(0, limitMs - elapsedMs()));
  const context = {
    ...call,
    signal: call.signal === undefined ? outOfTime : AbortSignal.any([call.signal, outOfTime]),
  };
  let answer: string;
  let answerMs: number;
  try {
    const result =
      item.kind === 'code'
        ? await llm.complete(
            { ...request, schema: LLM_OUTPUT_SCHEMAS['custody.code_answer'], schemaName: 'code_answer' },
            context,
          )
        : await llm.complete(request, context);
    answer = typeof result.output === 'string' ? result.output : result.output.code;
    // An answer an earlier attempt got (its write then failed) keeps the time the agent's model took to give it.
    answerMs = result.reused ? Math.round(result.latencyMs) : elapsedMs();
  } catch (err) {
    // The limit, and not a cancellation or a provider failure, ended the call: the agent's model was too slow.
    if (!outOfTime.aborted || call.signal?.aborted) throw toFailure(err);
    await storeAnswer(em, item, { answer: null, answerMs: elapsedMs() });
    await recordStep(
      orm,
      examId,
      'answer',
      `item ${position + 1} not answered within the time limit (${exam.timeLimitSeconds} s)`,
    );
    return { answered: false };
  }
  await storeAnswer(em, item, { answer, answerMs });
  await recordStep(orm, examId, 'answer', `item ${position + 1} in ${(answerMs / 1000).toFixed(1)} s`);
  return { answered: true };
}

/**
 * The agent's request: the answering model recorded at plan time (for an older exam: a stored override, else the
 * configured profile), its notes in context.
 */
async function answerRequest(
  em: EntityManager,
  exam: Exam,
  item: ExamItem,
): Promise<Omit<LlmRequest<unknown>, 'schema'>> {
  const agent = await em.findOneOrFail(Agent, { id: exam.agentId });
  const notes = await relevantNotes(em, exam.agentId, `${exam.category.replace(/_/g, ' ')} ${item.prompt}`);
  // The notes are the agent's model's own writing from the repository's findings: data to draw on, not instructions.
  const context =
    notes.length === 0
      ? ''
      : `\n\nYour knowledge notes that may help:\n${untrusted('your knowledge notes (written by your model from the repository and its findings)', notes.map((n) => `- ${n.title}: ${n.body}`).join('\n'))}\n\n${UNTRUSTED_DATA_RULE}`;
  return {
    agentId: exam.agentId as AgentId,
    purpose: 'exam.answer',
    // The answerer chosen at plan time (the agent's own model first); an exam planned before models were recorded: the agent's override.
    profile: exam.models === null ? overrideProfile(agent) : examProfile(exam, 'answerer'),
    messages: [
      {
        role: 'system',
        content: `You are ${agent.name}, an AI software agent (${agent.role}): ${agent.description} You are taking an exam; answer precisely.${context}`,
      },
      { role: 'user', content: item.prompt },
    ],
    maxTokens: 2000,
    temperature: 0.2,
    cacheTtlSeconds: 0,
  };
}

/**
 * Stores the item's answer, or (answer null) that it was not answered within the time limit, with the answering time;
 * kept once: whichever attempt stores first wins.
 */
async function storeAnswer(
  em: EntityManager,
  item: ExamItem,
  got: { answer: string | null; answerMs: number },
): Promise<void> {
  const set = got.answer === null ? 'answer_timed_out_at = now()' : 'answer = ?, answered_at = now()';
  await em
    .getConnection()
    .execute(
      `update exam_items set ${set}, answer_ms = ? where id = ? and answer is null and answer_timed_out_at is null`,
      [...(got.answer === null ? [] : [got.answer]), got.answerMs, item.id],
      'run',
    );
}

/** The agent's three notes that best match `text` (PostgreSQL full-text search, any of its significant words). */
export async function relevantNotes(
  em: EntityManager,
  agentId: string,
  text: string,
): Promise<Array<{ title: string; body: string }>> {
  const words = [...new Set(text.toLowerCase().match(/[a-z][a-z0-9]{3,}/g) ?? [])].slice(0, 24);
  if (words.length === 0) return [];
  return (await em.getConnection().execute(
    `select title, body from knowledge_notes, to_tsquery('english', ?) q
      where agent_id = ? and to_tsvector('english', title || ' ' || body) @@ q
      order by ts_rank(to_tsvector('english', title || ' ' || body), q) desc, created_at desc limit 3`,
    [words.join(' | '), agentId],
  )) as Array<{ title: string; body: string }>;
}
