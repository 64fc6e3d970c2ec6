import type { Difficulty } from './custody';
import { DEFAULT_RULES, type Rules } from './rules';

/**
 * Elo-style skill ratings per (agent, category) and skill-regression detection (ARCHITECTURE §3.1 step 8).
 * Pure, safe in workflows. The starting rating is INITIAL_SKILL_RATING in agents.ts; K and the regression windows
 * come in as rules (defaults: the spec's).
 */

/** The rating of an exam's difficulty: basic 1000, +200 per step, legendary 2000. */
export const DIFFICULTY_RATING: Readonly<Record<Difficulty, number>> = {
  basic: 1000,
  intermediate: 1200,
  advanced: 1400,
  expert: 1600,
  master: 1800,
  legendary: 2000,
};

type RegressionRules = Pick<Rules, 'regressionRecentExams' | 'regressionBaselineExams' | 'regressionMinDrop'>;

/** Tolerance so a drop of 14.999999999999998 (floating noise in the means) still counts as 15. */
const EPSILON = 1e-9;

/** The expected score (0–1) of an agent rated `rating` against an exam rated `difficultyRating`. */
export function expectedScore(rating: number, difficultyRating: number): number {
  return 1 / (1 + 10 ** ((difficultyRating - rating) / 400));
}

/**
 * A rating rounded to 0.01: the one rounding rule for ratings, applied when one is stored (`updateRating`) and
 * wherever one is presented (agents, leaderboard, skills), so an exam's `ratingAfter` and the agent's rating agree.
 */
export function roundRating(rating: number): number {
  return Math.round(rating * 100) / 100;
}

/**
 * The rating after an exam scored `score` (0–100): R + K·(score/100 − E) with K 32 by default, rounded by
 * `roundRating` so stored ratings stay readable (the rounding never moves a rating by more than 0.005). Throws
 * RangeError when score is outside 0–100.
 */
export function updateRating(
  rating: number,
  difficulty: Difficulty,
  score: number,
  k: number = DEFAULT_RULES.ratingK,
): number {
  if (!Number.isFinite(score) || score < 0 || score > 100) throw new RangeError(`score must be 0–100, got ${score}`);
  const next = rating + k * (score / 100 - expectedScore(rating, DIFFICULTY_RATING[difficulty]));
  return roundRating(next);
}

/** A detected drop in an agent's scores in one category. `drop` = previousMean − recentMean. */
export interface Regression {
  recentMean: number;
  previousMean: number;
  drop: number;
}

function mean(values: readonly number[]): number {
  return values.reduce((sum, v) => sum + v, 0) / values.length;
}

/** How many scores (oldest first) `detectRegression` looks at: the recent window and the baseline before it. */
export function regressionWindow(rules: RegressionRules = DEFAULT_RULES): number {
  return rules.regressionRecentExams + rules.regressionBaselineExams;
}

/**
 * Compares the mean of the last 5 exam scores with the mean of the 10 before them; a regression when the recent
 * mean is at least 15 below (the default windows and drop). Null when there are fewer scores than both windows or
 * no such drop.
 */
export function detectRegression(
  scoresOldestFirst: readonly number[],
  rules: RegressionRules = DEFAULT_RULES,
): Regression | null {
  const needed = regressionWindow(rules);
  if (scoresOldestFirst.length < needed) return null;
  const window = scoresOldestFirst.slice(-needed);
  const previousMean = mean(window.slice(0, rules.regressionBaselineExams));
  const recentMean = mean(window.slice(rules.regressionBaselineExams));
  const drop = previousMean - recentMean;
  return drop >= rules.regressionMinDrop - EPSILON ? { recentMean, previousMean, drop } : null;
}
