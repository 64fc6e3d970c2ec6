import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { CustodyExamInput } from '../contracts';
import { AGENT_CATEGORIES, type ExamCategory } from '../domain/agents';
import {
  difficultyForLevel,
  isOlympusExam,
  itemCountFor,
  passMarkFor,
  selectCategory,
  TIME_LIMIT_SECONDS,
  type CategoryExamRecord,
} from '../domain/custody';
import { examModels, type ExamModels, type ProfileSet } from '../domain/judges';
import { parseProfile } from '../domain/llm';
import type { Rules } from '../domain/rules';
import { Agent, Exam } from './entities';

/** Why an exam could not be stored: the caller maps it to its own error (an HTTP status, a non-retryable failure). */
export type ExamRefusal = { refused: 'AgentNotFound' | 'InvalidCategory' | 'ExamAlreadyRunning'; message: string };

/**
 * Steps 1–2 of §3.1: picks the category, difficulty, Olympus and item count and stores the exam row, keyed on the
 * workflow id (a repeat returns the stored row), with the `rules` it is planned under (and will be scored by). A
 * paused agent's exam is stored as skipped. The unique "one running
 * exam per agent" index makes this the one atomic gate: the API stores the row before it starts the workflow, so two
 * concurrent starts cannot both be accepted, and the workflow's plan step finds the row the API stored. A scheduled
 * exam that finds another exam of its agent running is stored as skipped, naming it (nobody is there to get a 409).
 * The exam's models (examiner, answerer, judge, audit judge) are chosen here from `profiles` (src/domain/judges.ts), so
 * every step and every retry of the exam uses the same ones (without profiles, none are recorded and the steps ask the
 * gateway's roles, as for exams planned before models were recorded).
 */
export async function storeExamPlan(
  em: EntityManager,
  input: CustodyExamInput & { examId: string; workflowId: string },
  rules: Rules,
  profiles: ProfileSet = { agents: {} },
): Promise<Exam | ExamRefusal> {
  const existing = await em.findOne(Exam, { workflowId: input.workflowId });
  if (existing !== null) return existing;
  const agent = await em.findOne(Agent, { id: input.agentId });
  if (agent === null) return { refused: 'AgentNotFound', message: `no agent with id "${input.agentId}"` };

  const history = (await em.getConnection().execute(
    `select category, status = 'passed' as passed, completed_at from exams
      where agent_id = ? and status in ('passed', 'failed') order by completed_at`,
    [agent.id],
  )) as Array<{ category: ExamCategory; passed: boolean; completed_at: string | Date }>;
  const records: CategoryExamRecord[] = history.map((h) => ({
    category: h.category,
    passed: h.passed,
    completedAt: new Date(h.completed_at).toISOString(),
  }));
  let category: ExamCategory;
  try {
    category = selectCategory(agent.id, records, input.category, rules.categoryRateWindow);
  } catch (err) {
    return { refused: 'InvalidCategory', message: (err as Error).message };
  }
  const examNumber = agent.examsTaken + 1;
  const olympus = isOlympusExam(examNumber, rules.olympusEvery);
  const difficulty = difficultyForLevel(agent.level);
  const exam = new Exam({
    id: input.examId,
    workflowId: input.workflowId,
    agentId: agent.id,
    category,
    difficulty,
    olympus,
    examNumber,
    passMark: passMarkFor(olympus, rules),
    timeLimitSeconds: TIME_LIMIT_SECONDS[difficulty],
    itemCount: itemCountFor(difficulty, olympus),
    trigger: input.trigger,
    requestedBy: input.requestedBy ?? null,
  });
  exam.rules = rules;
  exam.models = modelsFor(agent, profiles);
  exam.judgeIndependence = exam.models?.judgeIndependence ?? null;
  exam.steps = [
    { step: 'plan', at: new Date().toISOString(), detail: `${category} · ${difficulty}${olympus ? ' · Olympus' : ''}` },
  ];
  if (agent.status === 'paused') {
    skip(exam, `agent ${agent.id} is paused${agent.statusReason ? `: ${agent.statusReason}` : ''}`);
    exam.category = input.category ?? AGENT_CATEGORIES[agent.id][0] ?? category;
  }
  try {
    await em.persistAndFlush(exam);
  } catch (err) {
    if (!(err instanceof UniqueConstraintViolationException && /one_running_per_agent/.test(err.message))) throw err;
    if (input.trigger !== 'schedule')
      return { refused: 'ExamAlreadyRunning', message: `agent ${agent.id} already has an exam running` };
    return storeCollidingScheduledExam(em.fork(), exam);
  }
  return exam;
}

/**
 * A scheduled exam whose agent has another exam running is recorded as skipped with the running exam's id: like any
 * skipped exam it applies nothing and counts for nothing (not taken, not in eligibility, streaks or pass rates).
 * Throws a plain (retried) error when the running exam ended meanwhile: the retry stores the exam as running.
 */
async function storeCollidingScheduledExam(em: EntityManager, refused: Exam): Promise<Exam> {
  const running = await em.findOne(Exam, { agentId: refused.agentId, status: 'running' });
  if (running === null)
    throw new Error(
      `the running exam of ${refused.agentId} ended while exam ${refused.id} was stored; stored again on the retry`,
    );
  const exam = new Exam({ ...refused });
  exam.steps = refused.steps;
  exam.rules = refused.rules;
  exam.models = refused.models;
  exam.judgeIndependence = refused.judgeIndependence;
  skip(exam, `another exam of ${refused.agentId} is running: ${running.id}`);
  await em.persistAndFlush(exam);
  return exam;
}

function skip(exam: Exam, reason: string): void {
  exam.status = 'skipped';
  exam.error = reason;
  exam.completedAt = new Date();
  exam.steps = exam.steps.map((s) => (s.step === 'plan' ? { ...s, detail: 'skipped' } : s));
}

/** The agent answers with its stored override, else its configured profile, else the primary; null when none is configured. */
function modelsFor(agent: Agent, profiles: ProfileSet): ExamModels | null {
  const override =
    agent.llmProvider && agent.llmModel ? parseProfile(`${agent.llmProvider}:${agent.llmModel}`) : undefined;
  const answerer = override ?? profiles.agents[agent.id] ?? profiles.primary;
  return answerer === undefined ? null : examModels(profiles, answerer);
}
