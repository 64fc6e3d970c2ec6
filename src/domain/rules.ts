import type { Difficulty } from './custody';

/**
 * The thresholds of the custody protocol and eligibility (ARCHITECTURE §3.1). Pure data, safe in workflows: config.ts
 * parses them from the environment (one variable each, see RULE_VARS in src/config-rules.ts) and passes them to the
 * domain functions, whose parameters default to these spec values so the domain stays unit-testable. An exam stores
 * the rules it was planned under and is scored by them.
 */
export interface Rules {
  /** Pass mark of a regular exam, 0–100. */
  passMark: number;
  /** Pass mark of an Olympus Treaty exam, 0–100. */
  olympusPassMark: number;
  /** Every n-th exam of an agent is an Olympus Treaty exam. */
  olympusEvery: number;
  /** A score within this many points of the pass mark (inclusive) is borderline: open items are judged twice more. */
  borderlineMargin: number;
  xpPass: number;
  xpOlympusPass: number;
  xpFail: number;
  xpOlympusFail: number;
  /** XP multiplier per difficulty. */
  xpMultipliers: Readonly<Record<Difficulty, number>>;
  /** The level-up gate looks at this many last results… */
  levelGateWindow: number;
  /** …and needs at least this pass rate (0–1) over them… */
  levelGateMinPassRate: number;
  /** …and at most this many consecutive failures. */
  levelGateMaxConsecutiveFailures: number;
  /** Consecutive failures that make a streak worth a notification. */
  failureStreak: number;
  /** Category selection compares pass rates over this many last exams per category. */
  categoryRateWindow: number;
  /** Elo K of the skill rating. */
  ratingK: number;
  /** Regression: the mean of the last `regressionRecentExams` scores… */
  regressionRecentExams: number;
  /** …against the mean of the `regressionBaselineExams` before them… */
  regressionBaselineExams: number;
  /** …dropped by at least this many points. */
  regressionMinDrop: number;
  /** Eligibility: a pass within this many hours. */
  eligibilityPassWindowHours: number;
  /** Eligibility: at most this many consecutive failures. */
  eligibilityMaxConsecutiveFailures: number;
  /** Eligibility: fewer open proposals than this. */
  eligibilityOpenProposalLimit: number;
}

/** The spec's values (ARCHITECTURE §3.1). */
export const DEFAULT_RULES: Readonly<Rules> = Object.freeze({
  passMark: 70,
  olympusPassMark: 90,
  olympusEvery: 5,
  borderlineMargin: 5,
  xpPass: 50,
  xpOlympusPass: 75,
  xpFail: 1,
  xpOlympusFail: -50,
  xpMultipliers: Object.freeze({ basic: 1, intermediate: 1.5, advanced: 2, expert: 3, master: 4, legendary: 5 }),
  levelGateWindow: 5,
  levelGateMinPassRate: 0.8,
  levelGateMaxConsecutiveFailures: 2,
  failureStreak: 3,
  categoryRateWindow: 10,
  ratingK: 32,
  regressionRecentExams: 5,
  regressionBaselineExams: 10,
  regressionMinDrop: 15,
  eligibilityPassWindowHours: 24,
  eligibilityMaxConsecutiveFailures: 3,
  eligibilityOpenProposalLimit: 5,
});

/**
 * The rules an exam is scored by: those stored with it at plan time, each missing one (an exam planned before the
 * rules were stored, or before a rule existed) taken from `fallback`.
 */
export function examRules(stored: Partial<Rules> | null | undefined, fallback: Readonly<Rules> = DEFAULT_RULES): Rules {
  return { ...fallback, ...(stored ?? {}) };
}
