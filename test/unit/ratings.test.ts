import { DIFFICULTIES } from '../../src/domain/custody';
import { DIFFICULTY_RATING, detectRegression, expectedScore, updateRating } from '../../src/domain/ratings';
import { DEFAULT_RULES } from '../../src/domain/rules';
import type { Agent, AgentSkillRating } from '../../src/db/entities';
import { presentAgent } from '../../src/api/routes/agents/presenter';
import { presentLeader } from '../../src/api/routes/custody/presenter';

const repeat = (n: number, score: number): number[] => Array.from({ length: n }, () => score);

describe('skill ratings', () => {
  it('rates difficulties from 1000 to 2000 in steps of 200, with K = 32', () => {
    expect(DIFFICULTIES.map((d) => DIFFICULTY_RATING[d])).toEqual([1000, 1200, 1400, 1600, 1800, 2000]);
    expect(DEFAULT_RULES.ratingK).toBe(32);
  });

  it('expects 1/(1+10^((D−R)/400))', () => {
    expect(expectedScore(1200, 1200)).toBe(0.5);
    expect(expectedScore(1200, 1600)).toBeCloseTo(1 / 11, 12);
    expect(expectedScore(1600, 1200)).toBeCloseTo(10 / 11, 12);
  });

  it('moves the rating by 32·(score/100 − E) against the difficulty rating', () => {
    expect(updateRating(1200, 'intermediate', 100)).toBe(1216);
    expect(updateRating(1200, 'intermediate', 0)).toBe(1184);
    expect(updateRating(1200, 'intermediate', 50)).toBe(1200);
  });

  it('rounds the new rating to 0.01', () => {
    // E = 1/(1+10^(−0.5)) ≈ 0.75975, so 1200 + 32 × 0.24025 ≈ 1207.688
    expect(updateRating(1200, 'basic', 100)).toBe(1207.69);
    // E = 1/(1+10^(2)) ≈ 0.0099, so 1200 + 32 × (0.7 − 0.0099) ≈ 1222.083
    expect(updateRating(1200, 'legendary', 70)).toBe(1222.08);
  });

  it('presents a rating exactly as the exam stored it: GET /api/agents and the leaderboard agree with ratingAfter', () => {
    const ratingAfter = updateRating(1200, 'basic', 100);
    const agent = { id: 'guardian', level: 1, xp: 0, updatedAt: new Date(0) } as unknown as Agent;
    const rating = { category: 'security', rating: ratingAfter, examsCount: 1 } as unknown as AgentSkillRating;
    expect(presentAgent(agent, [rating]).skillRatings).toEqual({ security: { rating: ratingAfter, exams: 1 } });
    expect(presentLeader(agent, 1, ratingAfter).averageRating).toBe(ratingAfter);
    expect(presentLeader(agent, 1, 1207.6849).averageRating).toBe(1207.68);
  });

  it('refuses a score outside 0–100', () => {
    expect(() => updateRating(1200, 'basic', 101)).toThrow(RangeError);
    expect(() => updateRating(1200, 'basic', -1)).toThrow(RangeError);
  });
});

describe('skill regression', () => {
  it('needs at least 15 scores', () => {
    expect(detectRegression([...repeat(9, 90), ...repeat(5, 0)])).toBeNull();
  });

  it('reports a drop of exactly 15 between the 10 before and the last 5', () => {
    expect(detectRegression([...repeat(10, 80), ...repeat(5, 65)])).toEqual({
      recentMean: 65,
      previousMean: 80,
      drop: 15,
    });
  });

  it('does not report a drop of 14', () => {
    expect(detectRegression([...repeat(10, 80), ...repeat(5, 66)])).toBeNull();
  });

  it('counts a drop of 15 despite floating-point noise in the means', () => {
    expect(detectRegression([...repeat(10, 70.3), ...repeat(5, 55.3)])).not.toBeNull();
  });

  it('looks only at the last 15 scores', () => {
    expect(detectRegression([...repeat(5, 100), ...repeat(10, 70), ...repeat(5, 60)])).toBeNull();
    expect(detectRegression([...repeat(5, 0), ...repeat(10, 80), ...repeat(5, 60)])).toMatchObject({ drop: 20 });
  });

  it('does not report an improvement', () => {
    expect(detectRegression([...repeat(10, 50), ...repeat(5, 90)])).toBeNull();
  });
});
