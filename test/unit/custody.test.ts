import type { ExamCategory } from '../../src/domain/agents';
import {
  applyXp,
  codeItemScore,
  DIFFICULTIES,
  difficultyForLevel,
  examScore,
  failureStreakReached,
  isBorderline,
  isOlympusExam,
  itemCountFor,
  levelAfterExam,
  matchJudgedCriteria,
  median,
  normalizePrompt,
  openItemScore,
  passMarkFor,
  requiresCodeItem,
  SEEN_ITEM_WINDOW_DAYS,
  selectCategory,
  TIME_LIMIT_SECONDS,
  withCriterionIds,
  xpDelta,
  type CategoryExamRecord,
} from '../../src/domain/custody';
import { DEFAULT_RULES } from '../../src/domain/rules';

const day = (n: number): string => new Date(Date.UTC(2026, 0, 1) + n * 86_400_000).toISOString();
const exams = (category: ExamCategory, results: readonly boolean[], firstDay: number): CategoryExamRecord[] =>
  results.map((passed, i) => ({ category, passed, completedAt: day(firstDay + i) }));
const times = (n: number, passed: boolean): boolean[] => Array.from({ length: n }, () => passed);

describe('difficulty, time limits and Olympus exams', () => {
  it('maps levels to difficulties at every decade boundary', () => {
    expect([1, 9, 10, 19, 20, 29, 30, 39, 40, 49, 50, 120].map(difficultyForLevel)).toEqual([
      'basic',
      'basic',
      'intermediate',
      'intermediate',
      'advanced',
      'advanced',
      'expert',
      'expert',
      'master',
      'master',
      'legendary',
      'legendary',
    ]);
  });

  it('rejects levels that are not integers ≥ 1', () => {
    expect(() => difficultyForLevel(0)).toThrow(RangeError);
    expect(() => difficultyForLevel(2.5)).toThrow(RangeError);
  });

  it('gives each difficulty its time limit and xp multiplier', () => {
    expect(DIFFICULTIES.map((d) => TIME_LIMIT_SECONDS[d])).toEqual([300, 600, 900, 1200, 1800, 3600]);
    expect(DIFFICULTIES.map((d) => DEFAULT_RULES.xpMultipliers[d])).toEqual([1, 1.5, 2, 3, 4, 5]);
  });

  it('makes every 5th exam an Olympus exam and no other', () => {
    expect([1, 2, 3, 4, 5, 6, 9, 10, 11, 15].map((n) => isOlympusExam(n))).toEqual([
      false,
      false,
      false,
      false,
      true,
      false,
      false,
      true,
      false,
      true,
    ]);
    expect(() => isOlympusExam(0)).toThrow(RangeError);
  });

  it('sets 3/3/4/4/5/5 items per difficulty, one more on Olympus', () => {
    expect(DIFFICULTIES.map((d) => itemCountFor(d, false))).toEqual([3, 3, 4, 4, 5, 5]);
    expect(DIFFICULTIES.map((d) => itemCountFor(d, true))).toEqual([4, 4, 5, 5, 6, 6]);
  });

  it('requires a code item in exactly the four code categories', () => {
    const withCode: ExamCategory[] = [
      'code_quality',
      'performance_optimization',
      'experimental_validation',
      'innovation_capability',
    ];
    const without: ExamCategory[] = [
      'knowledge_verification',
      'cross_ai_collaboration',
      'self_improvement',
      'security_awareness',
    ];
    expect(withCode.every(requiresCodeItem)).toBe(true);
    expect(without.some(requiresCodeItem)).toBe(false);
  });

  it('sets the pass mark at 70, or 90 on Olympus', () => {
    expect(passMarkFor(false)).toBe(70);
    expect(passMarkFor(true)).toBe(90);
  });
});

describe('grading', () => {
  it('scores an open item as the weighted mean × 10', () => {
    expect(
      openItemScore([
        { weight: 2, score: 8 },
        { weight: 1, score: 5 },
      ]),
    ).toBe(70);
    expect(
      openItemScore([
        { weight: 0.2, score: 7 },
        { weight: 0.3, score: 7 },
        { weight: 0.5, score: 7 },
      ]),
    ).toBe(70);
    expect(openItemScore([{ weight: 1, score: 10 }])).toBe(100);
    expect(
      openItemScore([
        { weight: 1, score: 0 },
        { weight: 0, score: 10 },
      ]),
    ).toBe(0);
    expect(
      openItemScore([
        { weight: 1, score: 7 },
        { weight: 2, score: 8 },
      ]),
    ).toBe(76.67);
  });

  it('refuses an open item with no criteria, no weight, a negative weight or a score outside 0–10', () => {
    expect(() => openItemScore([])).toThrow(RangeError);
    expect(() => openItemScore([{ weight: 0, score: 5 }])).toThrow(RangeError);
    expect(() =>
      openItemScore([
        { weight: -1, score: 5 },
        { weight: 2, score: 5 },
      ]),
    ).toThrow(RangeError);
    expect(() => openItemScore([{ weight: 1, score: 11 }])).toThrow(RangeError);
    expect(() => openItemScore([{ weight: 1, score: -1 }])).toThrow(RangeError);
  });

  it('gives rubric criteria ids by position, keeping the ones they were stored with', () => {
    const c = (name: string) => ({ name, weight: 1, description: `${name}?` });
    expect(withCriterionIds([c('accuracy'), c('clarity')]).map((x) => x.id)).toEqual(['c1', 'c2']);
    expect(withCriterionIds([{ ...c('accuracy'), id: 'c1' }, c('clarity')])).toEqual([
      { ...c('accuracy'), id: 'c1' },
      { ...c('clarity'), id: 'c2' },
    ]);
  });

  it('matches judged criteria by id only: renamed, omitted and twice-scored criteria are missing, never 0', () => {
    const j = (id: string, score = 7) => ({ id, score, reason: `r ${id}` });
    expect(matchJudgedCriteria(['c1', 'c2'], [j(' C1 '), j('c2', 4)])).toEqual({
      scored: new Map([
        ['c1', { score: 7, reason: 'r  C1 ' }],
        ['c2', { score: 4, reason: 'r c2' }],
      ]),
      missing: [],
      unknown: [],
      duplicated: [],
    });
    const m = matchJudgedCriteria(
      ['c1', 'c2', 'c3'],
      [j('c1'), j('clarity'), j('c3', 2), j('c3', 9), j('constructor')],
    );
    expect([...m.scored.keys()]).toEqual(['c1']);
    expect(m).toMatchObject({ missing: ['c2', 'c3'], unknown: ['clarity', 'constructor'], duplicated: ['c3'] });
  });

  it('scores a code item as passed / total × 100, and 0 without tests', () => {
    expect(codeItemScore(3, 4)).toBe(75);
    expect(codeItemScore(2, 3)).toBe(66.67);
    expect(codeItemScore(5, 5)).toBe(100);
    expect(codeItemScore(0, 0)).toBe(0);
    expect(() => codeItemScore(5, 4)).toThrow(RangeError);
    expect(() => codeItemScore(-1, 4)).toThrow(RangeError);
  });

  it('scores an exam as the mean item score and refuses an empty exam', () => {
    expect(examScore([70, 80, 90])).toBe(80);
    expect(examScore([100, 66.67, 50])).toBe(72.22);
    expect(() => examScore([])).toThrow(RangeError);
  });

  it('counts a score within 5 points of the pass mark, inclusive, as borderline', () => {
    expect([64.99, 65, 70, 75, 75.01].map((s) => isBorderline(s, 70))).toEqual([false, true, true, true, false]);
    expect([84.99, 85, 95, 95.01].map((s) => isBorderline(s, 90))).toEqual([false, true, true, false]);
  });

  it('takes the median of odd and even counts without reordering the input', () => {
    const values = [90, 60, 75];
    expect(median(values)).toBe(75);
    expect(values).toEqual([90, 60, 75]);
    expect(median([80, 60, 70, 100])).toBe(75);
    expect(median([42])).toBe(42);
    expect(() => median([])).toThrow(RangeError);
  });
});

describe('xp', () => {
  it('awards 50 × multiplier for a pass', () => {
    expect(DIFFICULTIES.map((difficulty) => xpDelta({ passed: true, olympus: false, difficulty }))).toEqual([
      50, 75, 100, 150, 200, 250,
    ]);
  });

  it('awards 75 × multiplier for an Olympus pass, rounding 112.5 up to an integer', () => {
    expect(DIFFICULTIES.map((difficulty) => xpDelta({ passed: true, olympus: true, difficulty }))).toEqual([
      75, 113, 150, 225, 300, 375,
    ]);
  });

  it('awards +1 for a fail and −50 for an Olympus fail, whatever the difficulty', () => {
    expect(DIFFICULTIES.map((difficulty) => xpDelta({ passed: false, olympus: false, difficulty }))).toEqual(
      Array(6).fill(1),
    );
    expect(DIFFICULTIES.map((difficulty) => xpDelta({ passed: false, olympus: true, difficulty }))).toEqual(
      Array(6).fill(-50),
    );
  });

  it('never lets xp fall below 0', () => {
    expect(applyXp(30, -50)).toBe(0);
    expect(applyXp(50, -50)).toBe(0);
    expect(applyXp(120, -50)).toBe(70);
    expect(applyXp(0, 1)).toBe(1);
  });
});

describe('level gate', () => {
  it('rises to the highest level the xp allows when the gate is open', () => {
    expect(levelAfterExam({ level: 1, xp: 650, lastResults: times(5, true), consecutiveFailures: 0 })).toEqual({
      level: 4,
      leveledUp: true,
      held: false,
      reason: null,
    });
  });

  it('levels up at a pass rate of exactly 0.8', () => {
    const decision = levelAfterExam({
      level: 1,
      xp: 100,
      lastResults: [true, false, true, true, true],
      consecutiveFailures: 0,
    });
    expect(decision).toMatchObject({ level: 2, leveledUp: true, held: false });
  });

  it('holds below 0.8 and says why, with the numbers', () => {
    const decision = levelAfterExam({
      level: 1,
      xp: 100,
      lastResults: [false, true, false, true, true],
      consecutiveFailures: 0,
    });
    expect(decision).toEqual({
      level: 1,
      leveledUp: false,
      held: true,
      reason: 'pass rate over the last 5 exams is 0.60 (needs ≥ 0.80)',
    });
  });

  it('looks only at the last 5 results', () => {
    const oldFailures = [...times(3, false), ...times(5, true)];
    expect(levelAfterExam({ level: 1, xp: 100, lastResults: oldFailures, consecutiveFailures: 0 }).leveledUp).toBe(
      true,
    );
    const recentFailures = [...times(5, true), true, false, false, true];
    expect(levelAfterExam({ level: 1, xp: 100, lastResults: recentFailures, consecutiveFailures: 0 }).held).toBe(true);
  });

  it('uses the results there are when fewer than 5', () => {
    expect(levelAfterExam({ level: 1, xp: 100, lastResults: [true], consecutiveFailures: 0 }).leveledUp).toBe(true);
    expect(levelAfterExam({ level: 1, xp: 100, lastResults: [true, true, false], consecutiveFailures: 1 }).reason).toBe(
      'pass rate over the last 3 exams is 0.67 (needs ≥ 0.80)',
    );
  });

  it('allows 2 consecutive failures and holds at 3', () => {
    const input = { level: 1, xp: 100, lastResults: times(5, true) };
    expect(levelAfterExam({ ...input, consecutiveFailures: 2 }).leveledUp).toBe(true);
    expect(levelAfterExam({ ...input, consecutiveFailures: 3 })).toEqual({
      level: 1,
      leveledUp: false,
      held: true,
      reason: '3 consecutive failures (allows ≤ 2)',
    });
  });

  it('names every reason when both conditions fail', () => {
    const decision = levelAfterExam({
      level: 2,
      xp: 400,
      lastResults: [true, true, false, false, false],
      consecutiveFailures: 3,
    });
    expect(decision.reason).toBe(
      'pass rate over the last 5 exams is 0.40 (needs ≥ 0.80); 3 consecutive failures (allows ≤ 2)',
    );
    expect(decision.level).toBe(2);
  });

  it('is not held when the xp allows no higher level, even with a closed gate', () => {
    expect(levelAfterExam({ level: 2, xp: 299, lastResults: times(5, false), consecutiveFailures: 5 })).toEqual({
      level: 2,
      leveledUp: false,
      held: false,
      reason: null,
    });
  });

  it('never demotes when an Olympus fail takes xp below the level threshold', () => {
    expect(
      levelAfterExam({
        level: 3,
        xp: applyXp(310, -50),
        lastResults: [true, true, true, true, false],
        consecutiveFailures: 1,
      }),
    ).toEqual({
      level: 3,
      leveledUp: false,
      held: false,
      reason: null,
    });
  });

  it('refuses an empty result list', () => {
    expect(() => levelAfterExam({ level: 1, xp: 100, lastResults: [], consecutiveFailures: 0 })).toThrow(RangeError);
  });
});

describe('category selection', () => {
  it('honours a requested category of the agent and refuses one of another agent', () => {
    expect(selectCategory('guardian', [], 'performance_optimization')).toBe('performance_optimization');
    expect(() => selectCategory('guardian', [], 'self_improvement')).toThrow(RangeError);
  });

  it('picks the first never-tested category in the agent order', () => {
    expect(selectCategory('guardian', [])).toBe('security_awareness');
    expect(selectCategory('guardian', exams('security_awareness', [false], 0))).toBe('code_quality');
  });

  it('ignores records of categories the agent does not take', () => {
    const history = [...exams('knowledge_verification', [true], 0), ...exams('code_quality', [true], 1)];
    expect(selectCategory('imperium', history)).toBe('cross_ai_collaboration');
  });

  it('picks the lowest pass rate over the last 10 exams of each category, in time order', () => {
    const history = [
      ...exams('security_awareness', [...times(5, false), ...times(10, true)], 0), // 1.0 over the last 10
      ...exams('code_quality', [...times(9, true), false], 20), // 0.9
      ...exams('performance_optimization', times(10, true), 40), // 1.0
    ].reverse();
    expect(selectCategory('guardian', history)).toBe('code_quality');
  });

  it('breaks a tie in pass rate by the least recently tested category', () => {
    const history = [
      ...exams('security_awareness', [true, false], 10),
      ...exams('code_quality', [false, true], 0),
      ...exams('performance_optimization', [true, false], 5),
    ];
    expect(selectCategory('guardian', history)).toBe('code_quality');
  });

  it('refuses a record whose time is not a timestamp', () => {
    expect(() =>
      selectCategory('guardian', [{ category: 'code_quality', passed: true, completedAt: 'yesterday' }]),
    ).toThrow(RangeError);
  });
});

describe('failure streaks and seen items', () => {
  it('reports a streak exactly when it reaches 3', () => {
    expect([0, 2, 3, 4, 6].map((n) => failureStreakReached(n))).toEqual([false, false, true, false, false]);
  });

  it('normalizes case, punctuation and whitespace, and nothing else', () => {
    expect(normalizePrompt('  Write a FUNCTION,\n that   sums!  ')).toBe('write a function that sums');
    expect(normalizePrompt('Write a function that sums')).toBe(normalizePrompt('write a function... that sums?'));
    expect(normalizePrompt('sum two numbers')).not.toBe(normalizePrompt('sum three numbers'));
  });

  it('remembers seen items for 30 days', () => {
    expect(SEEN_ITEM_WINDOW_DAYS).toBe(30);
  });
});
