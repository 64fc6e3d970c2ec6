import type { CustodyExamInput } from '../../src/contracts';
import type { ActivityDeps } from '../deps';
import { answerItem } from './answer';
import { finishExam, recordExamFailure } from './finish';
import { generateItems } from './generate';
import { gradeItem } from './grade';
import { planExam } from './plan';

/** The custody exam's steps (ARCHITECTURE §3.1), each idempotent on the exam's stored state. */
export function createCustodyActivities({
  orm,
  llm,
  sandbox,
  config,
}: Pick<ActivityDeps, 'orm' | 'llm' | 'sandbox' | 'config'>) {
  return {
    custodyPlan: (input: CustodyExamInput & { examId: string; workflowId: string }) =>
      planExam(orm, input, config.rules, config.llm.profiles),
    custodyGenerateItems: (examId: string) => generateItems(orm, llm, examId),
    custodyAnswerItem: (examId: string, position: number) => answerItem(orm, llm, examId, position),
    custodyGradeItem: (examId: string, position: number, run: number) =>
      gradeItem(
        { orm, llm, sandbox, sandboxTimeoutMs: config.sandbox.timeoutSeconds * 1000, judges: config.judges },
        examId,
        position,
        run,
      ),
    custodyFinish: (examId: string) => finishExam(orm, examId, config.rules),
    custodyRecordFailure: async (examId: string, error: string) => void (await recordExamFailure(orm, examId, error)),
    /** Ends a cancelled exam `cancelled`: no score, no XP, no streak, no rating; the agent may take its next exam at once. */
    custodyCancel: async (examId: string, reason: string) =>
      void (await recordExamFailure(orm, examId, reason, 'cancelled')),
  };
}
