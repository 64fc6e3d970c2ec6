import { ApplicationFailure } from '@temporalio/activity';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { CustodyExamInput, ExamPlan } from '../../src/contracts';
import type { ProfileSet } from '../../src/domain/judges';
import { examRules, type Rules } from '../../src/domain/rules';
import type { Exam } from '../../src/db/entities';
import { storeExamPlan } from '../../src/db/exam-plan';
import { fork, recordStep } from './shared';

const planOf = (exam: Exam, rules: Rules): ExamPlan => ({
  examId: exam.id,
  skipped: exam.status === 'skipped',
  skipReason: exam.status === 'skipped' ? (exam.error ?? undefined) : undefined,
  category: exam.category,
  difficulty: exam.difficulty,
  olympus: exam.olympus,
  passMark: exam.passMark,
  // The margin the exam is judged by, as finishExam scores it: its stored rules, else (a row stored before) the current.
  borderlineMargin: examRules(exam.rules, rules).borderlineMargin,
  itemCount: exam.itemCount,
  timeLimitSeconds: exam.timeLimitSeconds,
});

/**
 * Step 1–2 of §3.1 (src/db/exam-plan.ts): stores the exam row keyed on the workflow id — or finds the one the API
 * stored before starting the workflow — so a retry returns the same plan. Throws non-retryable `AgentNotFound`,
 * `ExamAlreadyRunning` (another exam of this agent is running) or `InvalidCategory`. The plan carries the exam's
 * borderline margin, so the workflow decides on re-judging by the rules the exam was planned under.
 */
export async function planExam(
  orm: MikroORM,
  input: CustodyExamInput & { examId: string; workflowId: string },
  rules: Rules,
  profiles: ProfileSet,
): Promise<ExamPlan> {
  const stored = await storeExamPlan(fork(orm), input, rules, profiles);
  if ('refused' in stored) throw ApplicationFailure.nonRetryable(stored.message, stored.refused);
  return planOf(stored, rules);
}

export { recordStep };
