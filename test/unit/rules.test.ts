import { loadConfig } from '../../src/config';
import { RULE_VARS } from '../../src/config-rules';
import {
  isBorderline,
  isOlympusExam,
  levelAfterExam,
  passMarkFor,
  selectCategory,
  xpDelta,
} from '../../src/domain/custody';
import { proposalEligibility } from '../../src/domain/eligibility';
import { detectRegression, updateRating } from '../../src/domain/ratings';
import { DEFAULT_RULES, examRules } from '../../src/domain/rules';
import { configProblems } from '../helpers/config';

describe('rules by configuration', () => {
  it("defaults to the spec's values", () => {
    expect(loadConfig({}).rules).toEqual(DEFAULT_RULES);
  });

  it('reads every rule from its variable', () => {
    const rules = loadConfig({
      CUSTODY_PASS_MARK: '75',
      CUSTODY_OLYMPUS_PASS_MARK: '95',
      CUSTODY_OLYMPUS_EVERY: '7',
      CUSTODY_BORDERLINE_MARGIN: '2.5',
      CUSTODY_XP_MULTIPLIERS: '1, 2, 3, 4, 5, 6',
      CUSTODY_XP_OLYMPUS_FAIL: '-20',
      CUSTODY_LEVEL_GATE_MIN_PASS_RATE: '0.6',
      CUSTODY_RATING_K: '16',
      ELIGIBILITY_OPEN_PROPOSAL_LIMIT: '2',
      ELIGIBILITY_PASS_WINDOW_HOURS: '48',
    }).rules;
    expect(rules).toMatchObject({
      passMark: 75,
      olympusPassMark: 95,
      olympusEvery: 7,
      borderlineMargin: 2.5,
      xpMultipliers: { basic: 1, intermediate: 2, advanced: 3, expert: 4, master: 5, legendary: 6 },
      xpOlympusFail: -20,
      levelGateMinPassRate: 0.6,
      ratingK: 16,
      eligibilityOpenProposalLimit: 2,
      eligibilityPassWindowHours: 48,
      xpPass: 50,
    });
  });

  it('takes an empty variable as unset, not as 0', () => {
    expect(loadConfig({ CUSTODY_PASS_MARK: '', CUSTODY_XP_MULTIPLIERS: ' ' }).rules).toMatchObject({
      passMark: 70,
      xpMultipliers: DEFAULT_RULES.xpMultipliers,
    });
  });

  it('refuses to start on a pass mark outside 0–100, naming the variable', () => {
    expect(configProblems({ CUSTODY_PASS_MARK: '101' })).toEqual([
      'CUSTODY_PASS_MARK: must be from 0 to 100 (got "101")',
    ]);
    expect(configProblems({ CUSTODY_OLYMPUS_PASS_MARK: '-1' })).toEqual([
      'CUSTODY_OLYMPUS_PASS_MARK: must be from 0 to 100 (got "-1")',
    ]);
    expect(configProblems({ CUSTODY_PASS_MARK: 'seventy' })[0]).toMatch(/^CUSTODY_PASS_MARK: /);
  });

  it('refuses windows that are not positive whole numbers, and lists every bad rule at once', () => {
    const problems = configProblems({
      CUSTODY_LEVEL_GATE_WINDOW: '0',
      CUSTODY_REGRESSION_RECENT: '2.5',
      CUSTODY_OLYMPUS_EVERY: '-5',
      CUSTODY_LEVEL_GATE_MIN_PASS_RATE: '80',
      CUSTODY_XP_MULTIPLIERS: '1,2,3',
      ELIGIBILITY_MAX_CONSECUTIVE_FAILURES: '-1',
      CUSTODY_RATING_K: '0',
    });
    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual([
      'CUSTODY_LEVEL_GATE_MIN_PASS_RATE',
      'CUSTODY_LEVEL_GATE_WINDOW',
      'CUSTODY_OLYMPUS_EVERY',
      'CUSTODY_RATING_K',
      'CUSTODY_REGRESSION_RECENT',
      'CUSTODY_XP_MULTIPLIERS',
      'ELIGIBILITY_MAX_CONSECUTIVE_FAILURES',
    ]);
    expect(problems).toContain('CUSTODY_LEVEL_GATE_WINDOW: must be a positive whole number (got "0")');
    expect(problems).toContain('CUSTODY_REGRESSION_RECENT: must be a whole number (got "2.5")');
    expect(problems).toContain('CUSTODY_LEVEL_GATE_MIN_PASS_RATE: must be from 0 to 1 (got "80")');
  });

  it('names a distinct variable for every rule', () => {
    const names = Object.values(RULE_VARS).map((v) => v.env);
    expect(new Set(names).size).toBe(Object.keys(DEFAULT_RULES).length);
  });

  it('scores an exam by the rules stored with it, filling what an older exam lacks from the current ones', () => {
    const current = { ...DEFAULT_RULES, passMark: 80, borderlineMargin: 3 };
    expect(examRules({ borderlineMargin: 8 }, current)).toMatchObject({ passMark: 80, borderlineMargin: 8 });
    expect(examRules(null, current)).toEqual(current);
  });
});

describe('domain functions under non-default rules', () => {
  const rules = {
    ...DEFAULT_RULES,
    passMark: 60,
    olympusPassMark: 85,
    olympusEvery: 3,
    borderlineMargin: 2,
    xpPass: 10,
    xpMultipliers: { ...DEFAULT_RULES.xpMultipliers, advanced: 4 },
    levelGateWindow: 2,
    levelGateMaxConsecutiveFailures: 0,
    categoryRateWindow: 1,
    ratingK: 16,
    regressionRecentExams: 2,
    regressionBaselineExams: 3,
    regressionMinDrop: 10,
    eligibilityPassWindowHours: 1,
    eligibilityMaxConsecutiveFailures: 0,
    eligibilityOpenProposalLimit: 1,
  };

  it('pass marks, Olympus cadence and the borderline margin', () => {
    expect([passMarkFor(false, rules), passMarkFor(true, rules)]).toEqual([60, 85]);
    expect([3, 5, 6].map((n) => isOlympusExam(n, rules.olympusEvery))).toEqual([true, false, true]);
    expect([57.99, 58, 62, 62.01].map((s) => isBorderline(s, 60, rules.borderlineMargin))).toEqual([
      false,
      true,
      true,
      false,
    ]);
    expect(isBorderline(65, 70, undefined)).toBe(true);
  });

  it('XP and the level gate', () => {
    expect(xpDelta({ passed: true, olympus: false, difficulty: 'advanced' }, rules)).toBe(40);
    // Only the last 2 results count: the failure 3 exams ago no longer holds the level.
    expect(
      levelAfterExam({ level: 1, xp: 100, lastResults: [false, true, true], consecutiveFailures: 0 }, rules).leveledUp,
    ).toBe(true);
    expect(levelAfterExam({ level: 1, xp: 100, lastResults: [false, true, true], consecutiveFailures: 0 }).held).toBe(
      true,
    );
    expect(levelAfterExam({ level: 1, xp: 100, lastResults: [true, true], consecutiveFailures: 1 }, rules).reason).toBe(
      '1 consecutive failures (allows ≤ 0)',
    );
  });

  it('category selection window, Elo K and regression windows', () => {
    // Over 10 exams security_awareness passes least (1 of 3); over the last one all pass, so the least recent wins.
    const history = [
      { category: 'code_quality' as const, passed: true, completedAt: '2026-01-01T00:00:00Z' },
      { category: 'security_awareness' as const, passed: false, completedAt: '2026-01-02T00:00:00Z' },
      { category: 'security_awareness' as const, passed: false, completedAt: '2026-01-03T00:00:00Z' },
      { category: 'security_awareness' as const, passed: true, completedAt: '2026-01-04T00:00:00Z' },
      { category: 'performance_optimization' as const, passed: false, completedAt: '2026-01-05T00:00:00Z' },
      { category: 'performance_optimization' as const, passed: true, completedAt: '2026-01-06T00:00:00Z' },
    ];
    expect(selectCategory('guardian', history)).toBe('security_awareness');
    expect(selectCategory('guardian', history, undefined, rules.categoryRateWindow)).toBe('code_quality');
    expect(updateRating(1200, 'intermediate', 100, rules.ratingK)).toBe(1208);
    expect(detectRegression([80, 80, 80, 69, 69], rules)).toMatchObject({ drop: 11 });
    expect(detectRegression([80, 80, 80, 69, 69])).toBeNull();
  });

  it('eligibility limits', () => {
    const now = '2026-01-01T12:00:00.000Z';
    const decision = proposalEligibility(
      { status: 'active', lastPassedAt: '2026-01-01T10:00:00.000Z', consecutiveFailures: 1, openProposals: 1, now },
      rules,
    );
    expect(decision.checks.filter((c) => !c.ok).map((c) => c.detail)).toEqual([
      'last passed an exam 2.0 h ago (needs a pass within 1 h)',
      'has 1 consecutive failures (allows ≤ 0)',
      'has 1 open proposals (allows fewer than 1)',
    ]);
    expect(
      proposalEligibility({
        status: 'active',
        lastPassedAt: '2026-01-01T10:00:00.000Z',
        consecutiveFailures: 1,
        openProposals: 1,
        now,
      }).eligible,
    ).toBe(true);
  });
});
