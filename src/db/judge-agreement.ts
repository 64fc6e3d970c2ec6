import type { EntityManager } from '@mikro-orm/postgresql';
import { agreementByJudge, type JudgeAgreement } from '../domain/judges';

/** The audited items of the last `windowDays`, as pairs of the exam judge's and the audit judge's scores. */
export async function auditPairs(
  em: EntityManager,
  windowDays: number,
): Promise<Array<{ judge: string; judgeScore: number; auditor: string; auditScore: number }>> {
  return (await em.getConnection().execute(
    `select judge, judge_score::float as "judgeScore", auditor, audit_score::float as "auditScore"
       from judge_audits where created_at > now() - ? * interval '1 day' order by id`,
    [windowDays],
  )) as Array<{ judge: string; judgeScore: number; auditor: string; auditScore: number }>;
}

/** Per judge model, its agreement with the other judges over the last `windowDays` (src/domain/judges.ts). */
export async function judgeAgreement(em: EntityManager, windowDays: number): Promise<JudgeAgreement[]> {
  return agreementByJudge(await auditPairs(em, windowDays));
}
