import { AGENT_CATEGORIES, type AgentId, type ExamCategory } from './agents';
import { levelForXp } from './levels';
import { DEFAULT_RULES, type Rules } from './rules';

/**
 * The custody protocol's rules (ARCHITECTURE §3.1): difficulty, Olympus exams, item counts, scoring, XP, the
 * level-up gate and category selection. Pure and deterministic (time comes in as arguments), safe in workflows.
 * The configurable thresholds come in as `rules` (src/domain/rules.ts), defaulting to the spec's. Functions throw RangeError on
 * inputs that break their contract; validate untrusted data (LLM output) before it reaches a workflow.
 */

export const DIFFICULTIES = ['basic', 'intermediate', 'advanced', 'expert', 'master', 'legendary'] as const;
export type Difficulty = (typeof DIFFICULTIES)[number];

/** The lowest level at which each difficulty applies. */
export const DIFFICULTY_MIN_LEVEL: Readonly<Record<Difficulty, number>> = {
  basic: 1,
  intermediate: 10,
  advanced: 20,
  expert: 30,
  master: 40,
  legendary: 50,
};

/** Exam time limit per difficulty, in seconds. */
export const TIME_LIMIT_SECONDS: Readonly<Record<Difficulty, number>> = {
  basic: 300,
  intermediate: 600,
  advanced: 900,
  expert: 1200,
  master: 1800,
  legendary: 3600,
};

/** Items per exam before the Olympus extra item. */
export const ITEM_COUNT: Readonly<Record<Difficulty, number>> = {
  basic: 3,
  intermediate: 3,
  advanced: 4,
  expert: 4,
  master: 5,
  legendary: 5,
};

/** An item whose normalized prompt the agent saw within this many days is replaced. */
export const SEEN_ITEM_WINDOW_DAYS = 30;

/** Categories whose exams hold at least one `code` item. */
export const CODE_ITEM_CATEGORIES: readonly ExamCategory[] = [
  'code_quality',
  'performance_optimization',
  'experimental_validation',
  'innovation_capability',
];

/** Tolerance for comparisons of computed means against thresholds, so 74.99999999999999 counts as 75. */
const EPSILON = 1e-9;

function assertLevel(level: number): void {
  if (!Number.isInteger(level) || level < 1) throw new RangeError(`level must be an integer ≥ 1, got ${level}`);
}

/** Rounds a score to 0.01 so stored scores are clean and comparisons with pass marks are not floating noise. */
function roundScore(value: number): number {
  return Math.round(value * 100) / 100;
}

/** The exam difficulty for an agent's level. Throws RangeError unless level is an integer ≥ 1. */
export function difficultyForLevel(level: number): Difficulty {
  assertLevel(level);
  let result: Difficulty = 'basic';
  for (const d of DIFFICULTIES) if (level >= DIFFICULTY_MIN_LEVEL[d]) result = d;
  return result;
}

/** Whether the agent's `examNumber`-th exam (1-based: examsTaken + 1) is an Olympus Treaty exam (every 5th by default). */
export function isOlympusExam(examNumber: number, every: number = DEFAULT_RULES.olympusEvery): boolean {
  if (!Number.isInteger(examNumber) || examNumber < 1) {
    throw new RangeError(`examNumber must be an integer ≥ 1, got ${examNumber}`);
  }
  return examNumber % every === 0;
}

/** How many items the examiner generates; Olympus exams get one extra. */
export function itemCountFor(difficulty: Difficulty, olympus: boolean): number {
  return ITEM_COUNT[difficulty] + (olympus ? 1 : 0);
}

/** Whether exams in this category must hold at least one `code` item. */
export function requiresCodeItem(category: ExamCategory): boolean {
  return CODE_ITEM_CATEGORIES.includes(category);
}

/** The pass mark: 70, or 90 for an Olympus exam (by default). */
export function passMarkFor(
  olympus: boolean,
  rules: Pick<Rules, 'passMark' | 'olympusPassMark'> = DEFAULT_RULES,
): number {
  return olympus ? rules.olympusPassMark : rules.passMark;
}

/** One rubric criterion as the judge scored it: `score` is 0–10. */
export interface CriterionScore {
  weight: number;
  score: number;
}

/**
 * An `open` item's score, 0–100: the weighted mean of its criterion scores × 10, rounded to 0.01.
 * Throws RangeError when there are no criteria, a weight is negative, the weights sum to 0, or a score is outside 0–10.
 */
export function openItemScore(criteria: readonly CriterionScore[]): number {
  if (criteria.length === 0) throw new RangeError('an open item needs at least one rubric criterion');
  let total = 0;
  let weighted = 0;
  for (const { weight, score } of criteria) {
    if (!Number.isFinite(weight) || weight < 0) throw new RangeError(`criterion weight must be ≥ 0, got ${weight}`);
    if (!Number.isFinite(score) || score < 0 || score > 10)
      throw new RangeError(`criterion score must be 0–10, got ${score}`);
    total += weight;
    weighted += weight * score;
  }
  if (total <= 0) throw new RangeError('rubric weights must sum to more than 0');
  return roundScore((weighted / total) * 10);
}

/** A rubric criterion with the stable id the judge scores it by. */
export interface IdentifiedCriterion {
  id: string;
  name: string;
  weight: number;
  description: string;
}

/**
 * Gives each rubric criterion its id: the one it was stored with, else `c1`, `c2`, … by position (the worker assigns
 * these when it stores an item; items stored before criteria had ids get the same ids from their order).
 */
export function withCriterionIds(
  rubric: ReadonlyArray<Omit<IdentifiedCriterion, 'id'> & { id?: string }>,
): IdentifiedCriterion[] {
  return rubric.map((c, i) => ({ ...c, id: c.id ?? `c${i + 1}` }));
}

/** One criterion score as the judge returned it. */
export interface JudgedCriterion {
  id: string;
  score: number;
  reason: string;
}

/** The judge's scores matched to the rubric: `scored` by rubric id; `missing` ids have no unique score. */
export interface CriteriaMatch {
  scored: Map<string, { score: number; reason: string }>;
  missing: string[];
  /** Ids the judge used that are not in the rubric. */
  unknown: string[];
  /** Rubric ids the judge scored more than once (so which score is meant is unknown): counted as missing. */
  duplicated: string[];
}

/**
 * Matches a judge's scores to the rubric's criteria by id (trimmed, case-insensitive), never by name: a criterion
 * the judge did not score exactly once is `missing`, never a 0 — the caller asks again or records a grading error.
 */
export function matchJudgedCriteria(ids: readonly string[], judged: readonly JudgedCriterion[]): CriteriaMatch {
  const key = (id: string) => id.trim().toLowerCase();
  const byKey = new Map(ids.map((id) => [key(id), id]));
  const found = new Map<string, JudgedCriterion[]>();
  const unknown: string[] = [];
  for (const j of judged) {
    const id = byKey.get(key(j.id));
    if (id === undefined) unknown.push(j.id);
    else found.set(id, [...(found.get(id) ?? []), j]);
  }
  const scored: CriteriaMatch['scored'] = new Map();
  const duplicated: string[] = [];
  for (const [id, entries] of found) {
    const [only] = entries;
    if (entries.length > 1) duplicated.push(id);
    else if (only !== undefined) scored.set(id, { score: only.score, reason: only.reason });
  }
  return { scored, missing: ids.filter((id) => !scored.has(id)), unknown, duplicated };
}

/**
 * A `code` item's score, 0–100: passed / total × 100, rounded to 0.01; an item with no tests scores 0.
 * Throws RangeError unless 0 ≤ passedTests ≤ totalTests, both integers.
 */
export function codeItemScore(passedTests: number, totalTests: number): number {
  if (!Number.isInteger(passedTests) || !Number.isInteger(totalTests) || passedTests < 0 || passedTests > totalTests) {
    throw new RangeError(`need integers 0 ≤ passed ≤ total, got ${passedTests}/${totalTests}`);
  }
  return totalTests === 0 ? 0 : roundScore((passedTests / totalTests) * 100);
}

/** The exam score: the mean item score, rounded to 0.01. Throws RangeError on no items. */
export function examScore(itemScores: readonly number[]): number {
  if (itemScores.length === 0) throw new RangeError('an exam needs at least one item score');
  return roundScore(itemScores.reduce((sum, s) => sum + s, 0) / itemScores.length);
}

/**
 * Whether a score is within `margin` points (inclusive; 5 by default, and when an exam's plan carries none) of the
 * pass mark, so open items are judged twice more.
 */
export function isBorderline(
  score: number,
  passMark: number,
  margin: number = DEFAULT_RULES.borderlineMargin,
): boolean {
  return Math.abs(score - passMark) <= margin + EPSILON;
}

/** The median (mean of the two middle values for an even count). Throws RangeError on no values. */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('median of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const upper = sorted[mid] ?? 0;
  return sorted.length % 2 === 1 ? upper : ((sorted[mid - 1] ?? 0) + upper) / 2;
}

type XpRules = Pick<Rules, 'xpPass' | 'xpOlympusPass' | 'xpFail' | 'xpOlympusFail' | 'xpMultipliers'>;

/**
 * The XP an exam earns (defaults): pass +50 × multiplier, Olympus pass +75 × multiplier, fail +1, Olympus fail −50.
 * Always an integer (XP is stored as one): 75 × 1.5 = 112.5 rounds half up to 113.
 */
export function xpDelta(
  result: { passed: boolean; olympus: boolean; difficulty: Difficulty },
  rules: XpRules = DEFAULT_RULES,
): number {
  const { passed, olympus, difficulty } = result;
  if (!passed) return olympus ? rules.xpOlympusFail : rules.xpFail;
  return Math.round((olympus ? rules.xpOlympusPass : rules.xpPass) * rules.xpMultipliers[difficulty]);
}

/** Applies an XP delta with the floor at 0. */
export function applyXp(xp: number, delta: number): number {
  return Math.max(0, xp + delta);
}

/**
 * What the level-up gate looks at after one exam: `xp` and `consecutiveFailures` after it, and `lastResults`
 * (passed?, oldest → newest) including it, of which only the last 5 count.
 */
export interface LevelGateInput {
  level: number;
  xp: number;
  lastResults: readonly boolean[];
  consecutiveFailures: number;
}

/** The level after an exam; `reason` is set exactly when `held` (xp allows more, but the gate refused it). */
export interface LevelDecision {
  level: number;
  leveledUp: boolean;
  held: boolean;
  reason: string | null;
}

type GateRules = Pick<Rules, 'levelGateWindow' | 'levelGateMinPassRate' | 'levelGateMaxConsecutiveFailures'>;

/**
 * Applies the level-up gate: the agent rises to the level its xp allows only if its pass rate over the last 5
 * results (or all of them, when fewer) is ≥ 0.8 and it has ≤ 2 consecutive failures (the defaults). Never demotes.
 * Throws RangeError on an invalid level or on no results (the list must include this exam).
 */
export function levelAfterExam(input: LevelGateInput, rules: GateRules = DEFAULT_RULES): LevelDecision {
  const { level, xp, lastResults, consecutiveFailures } = input;
  assertLevel(level);
  if (lastResults.length === 0) throw new RangeError('lastResults must include this exam');
  const allowed = levelForXp(xp);
  if (allowed <= level) return { level, leveledUp: false, held: false, reason: null };

  const window = lastResults.slice(-rules.levelGateWindow);
  const rate = window.filter(Boolean).length / window.length;
  const problems: string[] = [];
  if (rate < rules.levelGateMinPassRate - EPSILON) {
    problems.push(
      `pass rate over the last ${window.length} exams is ${rate.toFixed(2)} (needs ≥ ${rules.levelGateMinPassRate.toFixed(2)})`,
    );
  }
  if (consecutiveFailures > rules.levelGateMaxConsecutiveFailures) {
    problems.push(`${consecutiveFailures} consecutive failures (allows ≤ ${rules.levelGateMaxConsecutiveFailures})`);
  }
  if (problems.length > 0) return { level, leveledUp: false, held: true, reason: problems.join('; ') };
  return { level: allowed, leveledUp: true, held: false, reason: null };
}

/** One past exam of the agent, as category selection needs it; `completedAt` is ISO. */
export interface CategoryExamRecord {
  category: ExamCategory;
  passed: boolean;
  completedAt: string;
}

function timeOf(iso: string): number {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) throw new RangeError(`not an ISO timestamp: ${iso}`);
  return t;
}

/**
 * The category of the agent's next exam: the requested one (RangeError when it is not one of the agent's), else
 * its first category never tested, else the lowest pass rate over its last `window` (10) exams in a category, ties to
 * the least recently tested, then to AGENT_CATEGORIES order. Records of other categories are ignored.
 * Throws RangeError on an unparseable `completedAt`.
 */
export function selectCategory(
  agentId: AgentId,
  history: readonly CategoryExamRecord[],
  requested?: ExamCategory,
  window: number = DEFAULT_RULES.categoryRateWindow,
): ExamCategory {
  const categories = AGENT_CATEGORIES[agentId];
  if (requested !== undefined) {
    if (!categories.includes(requested)) throw new RangeError(`${agentId} does not take ${requested} exams`);
    return requested;
  }
  const timed = history
    .filter((r) => categories.includes(r.category))
    .map((r) => ({ category: r.category, passed: r.passed, at: timeOf(r.completedAt) }))
    .sort((a, b) => a.at - b.at);
  let best: { category: ExamCategory; rate: number; lastAt: number } | undefined;
  for (const category of categories) {
    const exams = timed.filter((e) => e.category === category);
    if (exams.length === 0) return category;
    const recent = exams.slice(-window);
    const rate = recent.filter((e) => e.passed).length / recent.length;
    const lastAt = recent[recent.length - 1]?.at ?? 0;
    if (best === undefined || rate < best.rate || (rate === best.rate && lastAt < best.lastAt)) {
      best = { category, rate, lastAt };
    }
  }
  if (best === undefined) throw new RangeError(`${agentId} has no exam categories`);
  return best.category;
}

/** True exactly when the failure streak reaches 3 (by default), so it is notified once, not on every later failure. */
export function failureStreakReached(
  consecutiveFailures: number,
  streak: number = DEFAULT_RULES.failureStreak,
): boolean {
  return consecutiveFailures === streak;
}

/**
 * The form in which item prompts are compared to find items the agent saw in the last 30 days: NFKC, lower-case,
 * punctuation replaced by spaces, whitespace collapsed and trimmed.
 */
export function normalizePrompt(text: string): string {
  return text
    .normalize('NFKC')
    .toLowerCase()
    .replace(/\p{P}+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}
