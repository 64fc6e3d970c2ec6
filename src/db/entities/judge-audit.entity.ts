import { DecimalType, EntitySchema } from '@mikro-orm/core';

/** Why an item was judged a second time: its exam was re-judged (borderline), or it fell in the audit sample. */
export type JudgeAuditReason = 'rejudged' | 'sampled';

/**
 * An open item's score by its exam's judge and by a second judge model (the audit judge), one row per item: the
 * pairs from which each judge model's agreement is measured (GET /api/custody/judges).
 */
export class JudgeAudit {
  id?: string;
  examId: string;
  position: number;
  judge: string;
  judgeScore: number;
  auditor: string;
  auditScore: number;
  reason: JudgeAuditReason;
  createdAt: Date = new Date();

  constructor(init: Omit<JudgeAudit, 'id' | 'createdAt'>) {
    this.examId = init.examId;
    this.position = init.position;
    this.judge = init.judge;
    this.judgeScore = init.judgeScore;
    this.auditor = init.auditor;
    this.auditScore = init.auditScore;
    this.reason = init.reason;
  }
}

export const JudgeAuditSchema = new EntitySchema<JudgeAudit>({
  class: JudgeAudit,
  tableName: 'judge_audits',
  indexes: [{ properties: ['createdAt'] }],
  uniques: [{ properties: ['examId', 'position'] }],
  properties: {
    id: { type: 'bigint', primary: true, autoincrement: true },
    examId: { type: 'uuid' },
    position: { type: 'integer' },
    judge: { type: 'string', length: 200 },
    judgeScore: { type: new DecimalType('number'), precision: 6, scale: 2 },
    auditor: { type: 'string', length: 200 },
    auditScore: { type: new DecimalType('number'), precision: 6, scale: 2 },
    reason: { type: 'string', length: 16 },
    createdAt: { type: 'Date', columnType: 'timestamptz' },
  },
});
