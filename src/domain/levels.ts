/**
 * Levels and ranks (ARCHITECTURE §3.1 step 7). Pure functions, safe in workflows.
 */

/** XP needed to reach `level`: 100·L·(L−1)/2, so L2 at 100, L3 at 300, L4 at 600. */
export function xpForLevel(level: number): number {
  if (!Number.isInteger(level) || level < 1) throw new RangeError(`level must be an integer ≥ 1, got ${level}`);
  return (100 * level * (level - 1)) / 2;
}

/** The highest level that `xp` allows (before the level-up gate is applied). */
export function levelForXp(xp: number): number {
  if (!Number.isFinite(xp) || xp < 0) throw new RangeError(`xp must be ≥ 0, got ${xp}`);
  let level = 1;
  while (xpForLevel(level + 1) <= xp) level += 1;
  return level;
}

const RANKS: ReadonlyArray<readonly [number, string]> = [
  [50, 'Legend'],
  [40, 'Master'],
  [30, 'Elite'],
  [20, 'Veteran'],
  [10, 'Adept'],
  [5, 'Initiate'],
  [1, 'Recruit'],
];

/** The rank name for a level: 1 Recruit, 5 Initiate, 10 Adept, 20 Veteran, 30 Elite, 40 Master, 50 Legend. */
export function rankForLevel(level: number): string {
  const rank = RANKS.find(([min]) => level >= min);
  return rank ? rank[1] : 'Recruit';
}
