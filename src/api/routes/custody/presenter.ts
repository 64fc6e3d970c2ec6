import type { z } from 'zod';
import type { Agent, Exam, ExamItem } from '../../../db/entities';
import { CONQUEST_RULE_VARS, RULE_VARS } from '../../../config-rules';
import type { Config } from '../../../config';
import { agreementTooLow, type JudgeAgreement } from '../../../domain/judges';
import { rankForLevel } from '../../../domain/levels';
import { roundRating } from '../../../domain/ratings';
import { DEFAULT_PERFORMANCE_RULES, type PerformanceRules } from '../../../domain/performance';
import { DEFAULT_RULES, type Rules } from '../../../domain/rules';
import type { examResponse, examSummaryResponse, judgesResponse, leaderboardResponse, rulesResponse } from './schema';

export function presentExamSummary(e: Exam): z.infer<typeof examSummaryResponse> {
  return {
    id: e.id,
    workflowId: e.workflowId,
    agentId: e.agentId,
    category: e.category,
    difficulty: e.difficulty,
    olympus: e.olympus,
    examNumber: e.examNumber,
    passMark: e.passMark,
    timeLimitSeconds: e.timeLimitSeconds,
    itemCount: e.itemCount,
    trigger: e.trigger,
    requestedBy: e.requestedBy,
    status: e.status,
    score: e.score,
    borderline: e.borderline,
    outcome: e.outcome,
    error: e.error,
    startedAt: e.startedAt.toISOString(),
    completedAt: e.completedAt?.toISOString() ?? null,
    // Who examined, answered and judged, and how independent the judge is (null on exams planned before they were recorded).
    models:
      e.models === null
        ? null
        : {
            examiner: e.models.examiner,
            answerer: e.models.answerer,
            judge: e.models.judge,
            auditJudge: e.models.auditJudge,
          },
    judgeIndependence: e.judgeIndependence,
    examinerIndependence: e.models?.examinerIndependence ?? null,
  };
}

/** The whole exam, with the rules it was planned under and is scored by. Hidden tests stay hidden while the exam runs. */
export function presentExam(
  e: Exam,
  items: ExamItem[],
  usage: { inputTokens: number; outputTokens: number; costUsd: number; calls: number },
): z.infer<typeof examResponse> {
  const finished = e.status !== 'running';
  return {
    ...presentExamSummary(e),
    rules: e.rules,
    steps: e.steps,
    usage,
    items: items.map((i) => ({
      position: i.position,
      kind: i.kind,
      prompt: i.prompt,
      rubric: i.rubric,
      hiddenTests: finished ? i.hiddenTests : null,
      answer: i.answer,
      answeredAt: i.answeredAt?.toISOString() ?? null,
      // What the time limit measured: the agent's answering, from the start of the attempt that stored the item.
      answerMs: i.answerMs,
      answerTimedOutAt: i.answerTimedOutAt?.toISOString() ?? null,
      score: i.grading?.score ?? null,
      spread: i.grading?.spread ?? null,
      gradings: i.grading?.runs ?? [],
      gradedAt: i.gradedAt?.toISOString() ?? null,
    })),
  };
}

export function presentLeader(
  a: Agent,
  position: number,
  avgRating: number | null,
): z.infer<typeof leaderboardResponse>['items'][number] {
  return {
    position,
    agentId: a.id,
    name: a.name,
    level: a.level,
    rank: rankForLevel(a.level),
    xp: a.xp,
    examsTaken: a.examsTaken,
    examsPassed: a.examsPassed,
    passRate: a.examsTaken === 0 ? null : Math.round((a.examsPassed / a.examsTaken) * 1000) / 1000,
    consecutivePasses: a.consecutivePasses,
    consecutiveFailures: a.consecutiveFailures,
    averageRating: avgRating === null ? null : roundRating(avgRating),
    status: a.status,
  };
}

/** One rule as `GET /api/custody/rules` shows it: its effective value, the spec's default and the variable that sets it. */
interface RuleView {
  rule: string;
  env: string;
  value: unknown;
  default: unknown;
  meaning: string;
}

function ruleViews<R extends object>(
  prefix: string,
  vars: Readonly<Record<keyof R, { env: string; meaning: string }>>,
  values: R,
  defaults: R,
): RuleView[] {
  return (Object.keys(vars) as Array<keyof R>).map((key) => ({
    rule: `${prefix}${String(key)}`,
    env: vars[key].env,
    value: values[key],
    default: defaults[key],
    meaning: vars[key].meaning,
  }));
}

/** The effective rules of §3.1 (custody, eligibility) and §3.5 (Conquest), each with the variable that sets it. */
export function presentRules(rules: Rules, conquest: PerformanceRules): z.infer<typeof rulesResponse> {
  return {
    items: [
      ...ruleViews('', RULE_VARS, rules, DEFAULT_RULES),
      ...ruleViews('conquest.', CONQUEST_RULE_VARS, conquest, DEFAULT_PERFORMANCE_RULES),
    ],
  };
}

/** Each judge model's agreement with the other judges over the window, flagged when below the configured threshold. */
export function presentJudges(agreements: JudgeAgreement[], judges: Config['judges']): z.infer<typeof judgesResponse> {
  return {
    windowDays: judges.windowDays,
    auditSampleRate: judges.auditSampleRate,
    minAlpha: judges.minAlpha,
    minPairs: judges.minPairs,
    items: agreements.map((a) => ({
      model: a.model,
      pairs: a.pairs,
      meanAbsoluteDifference:
        a.meanAbsoluteDifference === null ? null : Math.round(a.meanAbsoluteDifference * 100) / 100,
      alpha: a.alpha === null ? null : Math.round(a.alpha * 1000) / 1000,
      belowThreshold: agreementTooLow(a, judges.minAlpha, judges.minPairs),
    })),
  };
}
