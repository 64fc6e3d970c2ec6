import { z } from 'zod';
import { DIFFICULTIES } from './domain/custody';
import type { PerformanceRules } from './domain/performance';
import { DEFAULT_RULES, type Rules } from './domain/rules';

/**
 * The rules of ARCHITECTURE §3.1 as environment variables: one variable per rule, its default the spec's value
 * (DEFAULT_RULES), its meaning (for GET /api/custody/rules and the Rules table of docs/configuration.md). config.ts merges RULES_ENV
 * into its schema, so a bad value refuses to start with every other configuration problem.
 */

/** An unset or empty variable takes the default (z.coerce alone would read "" as 0, a valid pass mark). */
const unsetIsDefault = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);
const number = (fallback: number, check: (n: z.ZodNumber) => z.ZodNumber) =>
  z.preprocess(unsetIsDefault, check(z.coerce.number({ message: 'must be a number' })).default(fallback));

const percent = (fallback: number) =>
  number(fallback, (n) => n.min(0, 'must be from 0 to 100').max(100, 'must be from 0 to 100'));
const positiveInt = (fallback: number) =>
  number(fallback, (n) => n.int('must be a whole number').min(1, 'must be a positive whole number'));
const nonNegativeInt = (fallback: number) =>
  number(fallback, (n) => n.int('must be a whole number').min(0, 'must be a whole number ≥ 0'));
const int = (fallback: number) => number(fallback, (n) => n.int('must be a whole number'));

const multipliers = z.preprocess(
  unsetIsDefault,
  z
    .string()
    .default(DIFFICULTIES.map((d) => DEFAULT_RULES.xpMultipliers[d]).join(','))
    .transform((v) => v.split(',').map((s) => Number(s.trim())))
    .refine((list) => list.length === DIFFICULTIES.length && list.every((m) => Number.isFinite(m) && m > 0), {
      message: `must be ${DIFFICULTIES.length} positive numbers, comma-separated, for ${DIFFICULTIES.join(', ')}`,
    })
    .transform((list) => Object.fromEntries(DIFFICULTIES.map((d, i) => [d, list[i] ?? 1])) as Rules['xpMultipliers']),
);

const d = DEFAULT_RULES;

/** The rules' part of the environment schema. */
export const RULES_ENV = {
  CUSTODY_PASS_MARK: percent(d.passMark),
  CUSTODY_OLYMPUS_PASS_MARK: percent(d.olympusPassMark),
  CUSTODY_OLYMPUS_EVERY: positiveInt(d.olympusEvery),
  CUSTODY_BORDERLINE_MARGIN: percent(d.borderlineMargin),
  CUSTODY_XP_PASS: nonNegativeInt(d.xpPass),
  CUSTODY_XP_OLYMPUS_PASS: nonNegativeInt(d.xpOlympusPass),
  CUSTODY_XP_FAIL: int(d.xpFail),
  CUSTODY_XP_OLYMPUS_FAIL: int(d.xpOlympusFail),
  CUSTODY_XP_MULTIPLIERS: multipliers,
  CUSTODY_LEVEL_GATE_WINDOW: positiveInt(d.levelGateWindow),
  CUSTODY_LEVEL_GATE_MIN_PASS_RATE: number(d.levelGateMinPassRate, (n) =>
    n.min(0, 'must be from 0 to 1').max(1, 'must be from 0 to 1'),
  ),
  CUSTODY_LEVEL_GATE_MAX_FAILURES: nonNegativeInt(d.levelGateMaxConsecutiveFailures),
  CUSTODY_FAILURE_STREAK: positiveInt(d.failureStreak),
  CUSTODY_CATEGORY_WINDOW: positiveInt(d.categoryRateWindow),
  CUSTODY_RATING_K: number(d.ratingK, (n) => n.positive('must be more than 0').max(1000, 'must be at most 1000')),
  CUSTODY_REGRESSION_RECENT: positiveInt(d.regressionRecentExams),
  CUSTODY_REGRESSION_BASELINE: positiveInt(d.regressionBaselineExams),
  CUSTODY_REGRESSION_MIN_DROP: number(d.regressionMinDrop, (n) =>
    n.positive('must be more than 0').max(100, 'must be at most 100'),
  ),
  ELIGIBILITY_PASS_WINDOW_HOURS: number(d.eligibilityPassWindowHours, (n) => n.positive('must be more than 0')),
  ELIGIBILITY_MAX_CONSECUTIVE_FAILURES: nonNegativeInt(d.eligibilityMaxConsecutiveFailures),
  ELIGIBILITY_OPEN_PROPOSAL_LIMIT: positiveInt(d.eligibilityOpenProposalLimit),
};

type RulesEnv = { [K in keyof typeof RULES_ENV]: z.output<(typeof RULES_ENV)[K]> };

/** Each rule's variable and meaning, in the order docs/configuration.md and the API list them. */
export const RULE_VARS: Readonly<Record<keyof Rules, { env: keyof RulesEnv; meaning: string }>> = {
  passMark: { env: 'CUSTODY_PASS_MARK', meaning: 'pass mark of a regular exam (0–100)' },
  olympusPassMark: { env: 'CUSTODY_OLYMPUS_PASS_MARK', meaning: 'pass mark of an Olympus Treaty exam (0–100)' },
  olympusEvery: {
    env: 'CUSTODY_OLYMPUS_EVERY',
    meaning: 'every n-th exam of an agent is an Olympus Treaty exam (one extra item)',
  },
  borderlineMargin: {
    env: 'CUSTODY_BORDERLINE_MARGIN',
    meaning:
      'a score within this many points of the pass mark is borderline: open items are judged twice more, the median counts',
  },
  xpPass: { env: 'CUSTODY_XP_PASS', meaning: 'XP for a pass, × the difficulty multiplier' },
  xpOlympusPass: { env: 'CUSTODY_XP_OLYMPUS_PASS', meaning: 'XP for an Olympus pass, × the difficulty multiplier' },
  xpFail: { env: 'CUSTODY_XP_FAIL', meaning: 'XP for a failed exam' },
  xpOlympusFail: { env: 'CUSTODY_XP_OLYMPUS_FAIL', meaning: 'XP for a failed Olympus exam (XP never falls below 0)' },
  xpMultipliers: { env: 'CUSTODY_XP_MULTIPLIERS', meaning: `XP multipliers for ${DIFFICULTIES.join(', ')}` },
  levelGateWindow: { env: 'CUSTODY_LEVEL_GATE_WINDOW', meaning: 'the level-up gate looks at this many last exams…' },
  levelGateMinPassRate: {
    env: 'CUSTODY_LEVEL_GATE_MIN_PASS_RATE',
    meaning: '…needs at least this pass rate (0–1) over them…',
  },
  levelGateMaxConsecutiveFailures: {
    env: 'CUSTODY_LEVEL_GATE_MAX_FAILURES',
    meaning: '…and at most this many consecutive failures',
  },
  failureStreak: { env: 'CUSTODY_FAILURE_STREAK', meaning: 'consecutive failures that notify exam_failure_streak' },
  categoryRateWindow: {
    env: 'CUSTODY_CATEGORY_WINDOW',
    meaning: 'category selection compares pass rates over this many last exams per category',
  },
  ratingK: { env: 'CUSTODY_RATING_K', meaning: 'Elo K of the skill rating per (agent, category)' },
  regressionRecentExams: {
    env: 'CUSTODY_REGRESSION_RECENT',
    meaning: 'skill regression: the mean of this many last scores in a category…',
  },
  regressionBaselineExams: {
    env: 'CUSTODY_REGRESSION_BASELINE',
    meaning: '…against the mean of this many scores before them…',
  },
  regressionMinDrop: {
    env: 'CUSTODY_REGRESSION_MIN_DROP',
    meaning: '…dropped by at least this many points notifies skill_regression',
  },
  eligibilityPassWindowHours: {
    env: 'ELIGIBILITY_PASS_WINDOW_HOURS',
    meaning: 'eligibility: a passed exam within this many hours',
  },
  eligibilityMaxConsecutiveFailures: {
    env: 'ELIGIBILITY_MAX_CONSECUTIVE_FAILURES',
    meaning: 'eligibility: at most this many consecutive failures',
  },
  eligibilityOpenProposalLimit: {
    env: 'ELIGIBILITY_OPEN_PROPOSAL_LIMIT',
    meaning: 'eligibility: fewer open proposals than this',
  },
};

/** Conquest's thresholds (ARCHITECTURE §3.5), parsed in config.ts as `config.conquest`; listed with the rules. */
export const CONQUEST_RULE_VARS: Readonly<Record<keyof PerformanceRules, { env: string; meaning: string }>> = {
  regressionPct: {
    env: 'CONQUEST_REGRESSION_PCT',
    meaning: 'a measure regressed when more than this many percent slower than the median of its last 5 samples…',
  },
  noiseK: {
    env: 'CONQUEST_NOISE_K',
    meaning: '…and beyond that median plus this many robust standard deviations (its noise)',
  },
  minBaseline: { env: 'CONQUEST_MIN_BASELINE', meaning: 'earlier samples needed before a measure can regress' },
};

/** The parsed variables as the rules the domain functions take. */
export function rulesFromEnv(e: RulesEnv): Rules {
  const entries = (Object.keys(RULE_VARS) as Array<keyof Rules>).map((rule) => [rule, e[RULE_VARS[rule].env]]);
  return Object.fromEntries(entries) as Rules;
}
