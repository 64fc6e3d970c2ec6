import type { MikroORM } from '@mikro-orm/postgresql';
import type { Config } from '../../src/config';
import type { Exam, ExamItem, JudgeAuditReason } from '../../src/db/entities';
import { judgeAgreement } from '../../src/db/judge-agreement';
import type { AgentId } from '../../src/domain/agents';
import { agreementTooLow, sampledForAudit } from '../../src/domain/judges';
import type { LlmGateway, LlmRequest } from '../../src/llm';
import { createNotification } from '../../src/notifications/create';
import { judgeOpen } from './judge';
import { fork, recordStep } from './shared';

type Judges = Config['judges'];

/** Why this item is judged a second time now: it is being re-judged, or it falls in the sample; null when it is not. */
export function auditReason(examId: string, position: number, run: number, rate: number): JudgeAuditReason | null {
  if (run > 1) return 'rejudged';
  return sampledForAudit(`${examId}:${position}`, rate) ? 'sampled' : null;
}

/**
 * Judges an open item a second time with the exam's audit judge and stores both scores (one row per item, so a retry
 * or a later re-judging never audits it twice), then checks the agreement of both judges. The audit measures the
 * judges and never decides the exam: its score does not count, and a failure of the audit judge is recorded as a
 * step, not thrown.
 */
export async function auditItem(
  deps: { orm: MikroORM; llm: LlmGateway; judges: Judges },
  exam: Exam,
  item: ExamItem,
  judgeScore: number,
  reason: JudgeAuditReason,
): Promise<void> {
  const auditor = exam.models?.auditJudge;
  const judge = exam.models?.judge;
  if (auditor == null || judge === undefined) return;
  const em = fork(deps.orm);
  const done = await em
    .getConnection()
    .execute('select 1 from judge_audits where exam_id = ? and position = ?', [exam.id, item.position]);
  if (done.length > 0) return;
  const label = `item ${item.position + 1}`;
  let audit;
  try {
    audit = await judgeOpen(deps.llm, exam.agentId as AgentId, item, 1, auditor as LlmRequest['profile']);
  } catch (err) {
    await recordStep(
      deps.orm,
      exam.id,
      'audit',
      `${label}: not audited, ${auditor} could not judge it: ${(err as Error).message}`,
    );
    return;
  }
  if (audit.score === null) {
    await recordStep(deps.orm, exam.id, 'audit', `${label}: not audited, ${audit.error ?? 'grading error'}`);
    return;
  }
  await em.getConnection().execute(
    `insert into judge_audits (exam_id, position, judge, judge_score, auditor, audit_score, reason, created_at)
     values (?, ?, ?, ?, ?, ?, ?, now()) on conflict (exam_id, position) do nothing`,
    [exam.id, item.position, judge, judgeScore, auditor, audit.score, reason],
    'run',
  );
  await recordStep(
    deps.orm,
    exam.id,
    'audit',
    `${label} (${reason}): ${judge} ${judgeScore}, ${auditor} ${audit.score}`,
  );
  await notifyLowAgreement(deps.orm, [judge, auditor], deps.judges);
}

/** One notification per judge model per window whose agreement has fallen below CUSTODY_JUDGE_MIN_ALPHA. */
async function notifyLowAgreement(orm: MikroORM, models: string[], judges: Judges): Promise<void> {
  const em = fork(orm);
  const windowIndex = Math.floor(Date.now() / (judges.windowDays * 86_400_000));
  for (const agreement of await judgeAgreement(em, judges.windowDays)) {
    if (!models.includes(agreement.model) || !agreementTooLow(agreement, judges.minAlpha, judges.minPairs)) continue;
    await createNotification(em, {
      kind: 'judge_agreement_low',
      priority: 'high',
      title: `Judge ${agreement.model} disagrees with the other judges`,
      message:
        `Over the last ${judges.windowDays} days, ${agreement.model}'s scores agree with the other judges' at Krippendorff's alpha ` +
        `${agreement.alpha?.toFixed(3)} (below ${judges.minAlpha}) over ${agreement.pairs} items; mean absolute difference ${agreement.meanAbsoluteDifference?.toFixed(1)} points.`,
      data: { ...agreement, windowDays: judges.windowDays, minAlpha: judges.minAlpha },
      dedupeKey: `judge_agreement_low:${agreement.model}:${windowIndex}`,
    });
  }
}
