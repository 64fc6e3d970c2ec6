import { ApplicationFailure } from '@temporalio/activity';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { Exam, ExamItem } from '../../src/db/entities';
import type { LlmRequest } from '../../src/llm';

/** Appends one step to the exam's recorded progress (the row is the durable record of what happened when). */
export async function recordStep(orm: MikroORM, examId: string, step: string, detail?: string): Promise<void> {
  const entry = { step, at: new Date().toISOString(), ...(detail !== undefined && { detail }) };
  await orm.em
    .getConnection()
    .execute('update exams set steps = steps || ?::jsonb where id = ?', [JSON.stringify([entry]), examId], 'run');
}

export async function loadExam(em: EntityManager, examId: string): Promise<Exam> {
  const exam = await em.findOne(Exam, { id: examId });
  if (exam === null) throw ApplicationFailure.nonRetryable(`no exam with id "${examId}"`, 'ExamNotFound');
  return exam;
}

export async function loadItem(em: EntityManager, examId: string, position: number): Promise<ExamItem> {
  const item = await em.findOne(ExamItem, { examId, position });
  if (item === null)
    throw ApplicationFailure.nonRetryable(`exam ${examId} has no item ${position}`, 'ExamItemNotFound');
  return item;
}

export const fork = (orm: MikroORM) => orm.em.fork() as EntityManager;

/**
 * The profile an exam step asks the gateway for: the model recorded on the exam at plan time; for an exam planned
 * before models were recorded, the gateway's role (`examiner`, `judge`) or, for the answer, the agent's own profile.
 */
export function examProfile(
  exam: Pick<Exam, 'models'>,
  role: 'examiner' | 'judge' | 'answerer',
): LlmRequest['profile'] {
  const recorded = exam.models?.[role];
  if (recorded !== undefined) return recorded as LlmRequest['profile'];
  return role === 'answerer' ? undefined : role;
}
