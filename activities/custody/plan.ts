import { ApplicationFailure } from '@temporalio/activity';
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { CustodyExamInput, ExamPlan } from '../../src/contracts';
import { Agent, Exam } from '../../src/db/entities';
import { AGENT_CATEGORIES, type ExamCategory } from '../../src/domain/agents';
import {
  difficultyForLevel,
  isOlympusExam,
  itemCountFor,
  passMarkFor,
  selectCategory,
  TIME_LIMIT_SECONDS,
  type CategoryExamRecord,
} from '../../src/domain/custody';
import { fork, recordStep } from './shared';

const planOf = (exam: Exam): ExamPlan => ({
  examId: exam.id,
  skipped: exam.status === 'skipped',
  skipReason: exam.status === 'skipped' ? (exam.error ?? undefined) : undefined,
  category: exam.category,
  difficulty: exam.difficulty,
  olympus: exam.olympus,
  passMark: exam.passMark,
  itemCount: exam.itemCount,
  timeLimitSeconds: exam.timeLimitSeconds,
});

/**
 * Step 1–2 of §3.1: picks the category, difficulty, Olympus and item count, and stores the exam row (keyed on the
 * workflow id, so a retry returns the same plan). A paused agent's exam is stored as skipped. Throws non-retryable
 * `AgentNotFound`, `ExamAlreadyRunning` (another exam of this agent is running), or RangeError → `InvalidCategory`.
 */
export async function planExam(orm: MikroORM, input: CustodyExamInput & { examId: string; workflowId: string }): Promise<ExamPlan> {
  const em = fork(orm);
  const existing = await em.findOne(Exam, { workflowId: input.workflowId });
  if (existing !== null) return planOf(existing);
  const agent = await em.findOne(Agent, { id: input.agentId });
  if (agent === null) throw ApplicationFailure.nonRetryable(`no agent with id "${input.agentId}"`, 'AgentNotFound');

  const history = (await em.getConnection().execute(
    `select category, status = 'passed' as passed, completed_at from exams
      where agent_id = ? and status in ('passed', 'failed') order by completed_at`,
    [agent.id],
  )) as Array<{ category: ExamCategory; passed: boolean; completed_at: string | Date }>;
  const records: CategoryExamRecord[] = history.map((h) => ({ category: h.category, passed: h.passed, completedAt: new Date(h.completed_at).toISOString() }));
  let category: ExamCategory;
  try {
    category = selectCategory(agent.id, records, input.category);
  } catch (err) {
    throw ApplicationFailure.nonRetryable((err as Error).message, 'InvalidCategory');
  }
  const examNumber = agent.examsTaken + 1;
  const olympus = isOlympusExam(examNumber);
  const difficulty = difficultyForLevel(agent.level);
  const exam = new Exam({
    id: input.examId,
    workflowId: input.workflowId,
    agentId: agent.id,
    category,
    difficulty,
    olympus,
    examNumber,
    passMark: passMarkFor(olympus),
    timeLimitSeconds: TIME_LIMIT_SECONDS[difficulty],
    itemCount: itemCountFor(difficulty, olympus),
    trigger: input.trigger,
    requestedBy: input.requestedBy ?? null,
  });
  if (agent.status === 'paused') {
    exam.status = 'skipped';
    exam.error = `agent ${agent.id} is paused${agent.statusReason ? `: ${agent.statusReason}` : ''}`;
    exam.completedAt = new Date();
    exam.category = input.category ?? AGENT_CATEGORIES[agent.id][0] ?? category;
  }
  exam.steps = [{ step: 'plan', at: new Date().toISOString(), detail: exam.status === 'skipped' ? 'skipped' : `${category} · ${difficulty}${olympus ? ' · Olympus' : ''}` }];
  try {
    await em.persistAndFlush(exam);
  } catch (err) {
    if (err instanceof UniqueConstraintViolationException && /one_running_per_agent/.test(err.message)) {
      throw ApplicationFailure.nonRetryable(`agent ${agent.id} already has an exam running`, 'ExamAlreadyRunning');
    }
    throw err;
  }
  return planOf(exam);
}

export { recordStep };
