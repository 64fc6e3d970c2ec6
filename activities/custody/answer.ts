import type { MikroORM } from '@mikro-orm/postgresql';
import { LLM_OUTPUT_SCHEMAS } from '../../src/contracts';
import { Agent } from '../../src/db/entities';
import type { AgentId } from '../../src/domain/agents';
import type { LlmGateway, LlmRequest } from '../../src/llm';
import { activityCallContext, toFailure } from '../llm.activities';
import { fork, loadExam, loadItem, recordStep } from './shared';

/**
 * Step 4 of §3.1: the agent's own model answers one item, with its most relevant knowledge notes in context. Stored
 * once: an answered item is never asked again.
 */
export async function answerItem(orm: MikroORM, llm: LlmGateway, examId: string, position: number): Promise<{ answered: boolean }> {
  const em = fork(orm);
  const item = await loadItem(em, examId, position);
  if (item.answer !== null) return { answered: true };
  const exam = await loadExam(em, examId);
  const agent = await em.findOneOrFail(Agent, { id: exam.agentId });
  const notes = await relevantNotes(orm, exam.agentId, `${exam.category.replace(/_/g, ' ')} ${item.prompt}`);
  const context = notes.length === 0 ? '' : `\n\nYour knowledge notes that may help:\n${notes.map((n) => `- ${n.title}: ${n.body}`).join('\n')}`;
  const base: Omit<LlmRequest<unknown>, 'schema'> = {
    agentId: exam.agentId as AgentId,
    purpose: 'exam.answer',
    // An agent's stored override wins over the configured per-agent profile.
    profile: agent.llmProvider && agent.llmModel ? (`${agent.llmProvider}:${agent.llmModel}` as LlmRequest['profile']) : undefined,
    messages: [
      { role: 'system', content: `You are ${agent.name}, an AI software agent (${agent.role}): ${agent.description} You are taking an exam; answer precisely.${context}` },
      { role: 'user', content: item.prompt },
    ],
    maxTokens: 2000,
    temperature: 0.2,
    cacheTtlSeconds: 0,
  };
  let answer: string;
  try {
    if (item.kind === 'code') {
      const result = await llm.complete({ ...base, schema: LLM_OUTPUT_SCHEMAS['custody.code_answer'], schemaName: 'code_answer' }, activityCallContext());
      answer = result.output.code;
    } else {
      answer = (await llm.complete(base, activityCallContext())).output as string;
    }
  } catch (err) {
    throw toFailure(err);
  }
  await em.getConnection().execute('update exam_items set answer = ?, answered_at = now() where id = ? and answer is null', [answer, item.id], 'run');
  await recordStep(orm, examId, 'answer', `item ${position + 1}`);
  return { answered: true };
}

/** The agent's three notes that best match `text` (PostgreSQL full-text search, any of its significant words). */
export async function relevantNotes(orm: MikroORM, agentId: string, text: string): Promise<Array<{ title: string; body: string }>> {
  const words = [...new Set(text.toLowerCase().match(/[a-z][a-z0-9]{3,}/g) ?? [])].slice(0, 24);
  if (words.length === 0) return [];
  return (await orm.em.getConnection().execute(
    `select title, body from knowledge_notes, to_tsquery('english', ?) q
      where agent_id = ? and to_tsvector('english', title || ' ' || body) @@ q
      order by ts_rank(to_tsvector('english', title || ' ' || body), q) desc, created_at desc limit 3`,
    [words.join(' | '), agentId],
  )) as Array<{ title: string; body: string }>;
}
