import { LockMode } from '@mikro-orm/core';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { CustodyExamResult } from '../../src/contracts';
import { Agent, AgentSkillRating, Exam, ExamItem, SkillRatingEvent, type ExamOutcome } from '../../src/db/entities';
import { INITIAL_SKILL_RATING } from '../../src/domain/agents';
import {
  applyXp,
  examScore,
  failureStreakReached,
  levelAfterExam,
  xpDelta,
  type Difficulty,
} from '../../src/domain/custody';
import { rankForLevel } from '../../src/domain/levels';
import { detectRegression, regressionWindow, updateRating } from '../../src/domain/ratings';
import { examRules, type Rules } from '../../src/domain/rules';
import { createNotification } from '../../src/notifications/create';
import { fork } from './shared';

const resultOf = (exam: Exam): CustodyExamResult => ({
  examId: exam.id,
  status: exam.status === 'running' ? 'error' : exam.status,
  score: exam.score,
  ...(exam.error !== null && { reason: exam.error }),
});

/**
 * Steps 6–9 of §3.1 in one transaction, with the exam and agent rows locked: score, XP, the level gate, the category
 * rating and its history, regression check, the agent's custody statistics, and the notifications (level_up,
 * exam_failure_streak, skill_regression — once per regression episode, until a graded exam without one). Applied once: a finished exam returns what was stored. The exam is scored
 * by the rules stored with it at plan time (its pass mark included); `currentRules` fills only what it lacks.
 */
export async function finishExam(orm: MikroORM, examId: string, currentRules: Rules): Promise<CustodyExamResult> {
  return fork(orm).transactional(async (em) => {
    const exam = await em.findOneOrFail(Exam, { id: examId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
    if (exam.status !== 'running') return resultOf(exam);
    const agent = await em.findOneOrFail(Agent, { id: exam.agentId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
    const rules = examRules(exam.rules, currentRules);
    const items = await em.find(ExamItem, { examId }, { orderBy: { position: 'asc' } });
    const score = Math.round(examScore(items.map((i) => i.grading?.score ?? 0)) * 100) / 100;
    const passed = score >= exam.passMark;

    const delta = xpDelta({ passed, olympus: exam.olympus, difficulty: exam.difficulty as Difficulty }, rules);
    const xpAfter = applyXp(agent.xp, delta);
    const consecutiveFailures = passed ? 0 : agent.consecutiveFailures + 1;
    const lastResults = [...(await recentResults(em, agent.id, rules.levelGateWindow - 1)), passed];
    const decision = levelAfterExam({ level: agent.level, xp: xpAfter, lastResults, consecutiveFailures }, rules);

    const rating =
      (await em.findOne(AgentSkillRating, { agentId: agent.id, category: exam.category })) ??
      em.create(
        AgentSkillRating,
        new AgentSkillRating({ agentId: agent.id, category: exam.category, rating: INITIAL_SKILL_RATING }),
      );
    const ratingBefore = rating.rating;
    rating.rating = updateRating(ratingBefore, exam.difficulty as Difficulty, score, rules.ratingK);
    rating.examsCount += 1;
    em.persist(
      new SkillRatingEvent({
        agentId: agent.id,
        category: exam.category,
        examId,
        score,
        ratingBefore,
        ratingAfter: rating.rating,
      }),
    );
    const regression = detectRegression(
      [...(await categoryScores(em, agent.id, exam.category, regressionWindow(rules) - 1)), score],
      rules,
    );
    const regressionSince = regression === null ? null : await regressionEpisodeStart(em, exam);

    const outcome: ExamOutcome = {
      xpBefore: agent.xp,
      xpDelta: xpAfter - agent.xp,
      xpAfter,
      levelBefore: agent.level,
      levelAfter: decision.level,
      levelHeldReason: decision.held ? decision.reason : null,
      ratingBefore,
      ratingAfter: rating.rating,
      regression,
      regressionSince,
    };
    Object.assign(agent, {
      xp: xpAfter,
      level: decision.level,
      levelHoldReason: decision.held ? decision.reason : null,
      examsTaken: agent.examsTaken + 1,
      examsPassed: agent.examsPassed + (passed ? 1 : 0),
      examsFailed: agent.examsFailed + (passed ? 0 : 1),
      consecutivePasses: passed ? agent.consecutivePasses + 1 : 0,
      consecutiveFailures,
      lastExamAt: new Date(),
      ...(passed && { lastPassedAt: new Date() }),
    });
    const borderline = items.some((i) => (i.grading?.runs.length ?? 0) > 1);
    Object.assign(exam, { status: passed ? 'passed' : 'failed', score, outcome, borderline, completedAt: new Date() });
    exam.steps = [
      ...exam.steps,
      {
        step: 'score',
        at: new Date().toISOString(),
        detail: `${score} / pass ${exam.passMark}: ${passed ? 'passed' : 'failed'}, xp ${outcome.xpDelta >= 0 ? '+' : ''}${outcome.xpDelta}`,
      },
    ];
    await em.flush();
    await notify(em, {
      exam,
      agentName: agent.name,
      outcome,
      leveledUp: decision.leveledUp,
      consecutiveFailures,
      passed,
      rules,
    });
    return resultOf(exam);
  });
}

async function recentResults(em: EntityManager, agentId: Exam['agentId'], count: number): Promise<boolean[]> {
  if (count <= 0) return [];
  const rows = await em.find(
    Exam,
    { agentId, status: { $in: ['passed', 'failed'] } },
    { orderBy: { completedAt: 'desc' }, limit: count, fields: ['status'] },
  );
  return rows.reverse().map((r) => r.status === 'passed');
}

async function categoryScores(
  em: EntityManager,
  agentId: Exam['agentId'],
  category: string,
  count: number,
): Promise<number[]> {
  if (count <= 0) return [];
  const rows = await em.find(
    Exam,
    { agentId, category: category as Exam['category'], status: { $in: ['passed', 'failed'] } },
    { orderBy: { completedAt: 'desc' }, limit: count, fields: ['score'] },
  );
  return rows.reverse().map((r) => r.score ?? 0);
}

/**
 * The exam that began the regression episode `exam` continues: the previous graded exam's episode when that exam
 * regressed too (an exam from before episodes were recorded begins its own), else `exam` itself.
 */
async function regressionEpisodeStart(em: EntityManager, exam: Exam): Promise<string> {
  const previous = await em.findOne(
    Exam,
    { agentId: exam.agentId, category: exam.category, status: { $in: ['passed', 'failed'] }, id: { $ne: exam.id } },
    { orderBy: { completedAt: 'desc' }, fields: ['outcome'] },
  );
  const outcome = previous?.outcome;
  if (previous === null || outcome === null || outcome === undefined || outcome.regression === null) return exam.id;
  return outcome.regressionSince ?? previous.id;
}

async function notify(
  em: EntityManager,
  ctx: {
    exam: Exam;
    agentName: string;
    outcome: ExamOutcome;
    leveledUp: boolean;
    consecutiveFailures: number;
    passed: boolean;
    rules: Rules;
  },
): Promise<void> {
  const { exam, outcome } = ctx;
  const data = { agentId: exam.agentId, examId: exam.id, category: exam.category, score: exam.score };
  if (ctx.leveledUp) {
    await createNotification(em, {
      kind: 'level_up',
      title: `${ctx.agentName} reached level ${outcome.levelAfter} (${rankForLevel(outcome.levelAfter)})`,
      message: `${ctx.agentName} rose from level ${outcome.levelBefore} to ${outcome.levelAfter} after a ${exam.category} exam scored ${exam.score}.`,
      priority: 'normal',
      data: { ...data, levelBefore: outcome.levelBefore, levelAfter: outcome.levelAfter },
      dedupeKey: `level_up:${exam.id}`,
    });
  }
  if (!ctx.passed && failureStreakReached(ctx.consecutiveFailures, ctx.rules.failureStreak)) {
    await createNotification(em, {
      kind: 'exam_failure_streak',
      title: `${ctx.agentName} failed ${ctx.consecutiveFailures} exams in a row`,
      message: `${ctx.agentName}'s latest ${exam.category} exam scored ${exam.score} (pass mark ${exam.passMark}); its level is held until it recovers.`,
      priority: 'high',
      data: { ...data, consecutiveFailures: ctx.consecutiveFailures },
      dedupeKey: `exam_failure_streak:${exam.id}`,
    });
  }
  if (outcome.regression !== null) {
    await createNotification(em, {
      kind: 'skill_regression',
      title: `${ctx.agentName} regressed in ${exam.category}`,
      message: `The mean of the last ${ctx.rules.regressionRecentExams} ${exam.category} scores (${outcome.regression.recentMean.toFixed(1)}) is ${outcome.regression.drop.toFixed(1)} below the ${ctx.rules.regressionBaselineExams} before (${outcome.regression.previousMean.toFixed(1)}).`,
      priority: 'high',
      data: { ...data, ...outcome.regression, regressionSince: outcome.regressionSince ?? exam.id },
      // Once per episode: the exam that began it keys the notification, so a persisting drop is not notified again.
      dedupeKey: `skill_regression:${outcome.regressionSince ?? exam.id}`,
    });
  }
}

/**
 * Ends a running exam that will not be scored — `error` (no provider, invalid examiner output, …) or `cancelled` (its
 * workflow cancelled, terminated or timed out) — applying nothing of its progression. True when this call ended it.
 */
export async function recordExamFailure(
  orm: MikroORM,
  examId: string,
  error: string,
  status: 'error' | 'cancelled' = 'error',
): Promise<boolean> {
  const ended = await orm.em.getConnection().execute<{
    affectedRows: number;
  }>(`update exams set status = ?, error = ?, completed_at = now(), steps = steps || ?::jsonb where id = ? and status = 'running'`, [status, error.slice(0, 4000), JSON.stringify([{ step: status, at: new Date().toISOString(), detail: error.slice(0, 300) }]), examId], 'run');
  return ended.affectedRows > 0;
}
