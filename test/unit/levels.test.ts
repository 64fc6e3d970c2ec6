import { levelForXp, rankForLevel, xpForLevel } from '../../src/domain/levels';

describe('levels and ranks', () => {
  it('needs 100·L·(L−1)/2 xp for level L', () => {
    expect([1, 2, 3, 4, 10].map(xpForLevel)).toEqual([0, 100, 300, 600, 4500]);
  });

  it('gives the highest level the xp allows, at exact boundaries too', () => {
    expect(levelForXp(0)).toBe(1);
    expect(levelForXp(99)).toBe(1);
    expect(levelForXp(100)).toBe(2);
    expect(levelForXp(299)).toBe(2);
    expect(levelForXp(300)).toBe(3);
  });

  it('names ranks at 1, 5, 10, 20, 30, 40 and 50', () => {
    expect([1, 4, 5, 9, 10, 19, 20, 30, 40, 49, 50, 70].map(rankForLevel)).toEqual([
      'Recruit',
      'Recruit',
      'Initiate',
      'Initiate',
      'Adept',
      'Adept',
      'Veteran',
      'Elite',
      'Master',
      'Master',
      'Legend',
      'Legend',
    ]);
  });
});
