import { median } from './custody';

/**
 * Conquest's rules (ARCHITECTURE §3.5), made not to cry wolf: a measure regressed only when there are enough earlier
 * samples to know its usual time, and the current figure (the median of several repeats in one run) is both more than
 * the threshold above the baseline median and beyond the baseline's own noise — its median plus k robust standard
 * deviations (MAD × 1.4826). A same-commit re-run on a busy machine then stays within noise; a real slowdown does not.
 * And a regression is a slowdown between commits: when every baseline sample was measured at the commit measured now,
 * nothing in the code changed, so a figure beyond threshold and noise says the machine was busier (`same_commit`).
 */
export const PERFORMANCE_BASELINE_RUNS = 5;
/** The default threshold as a ratio (CONQUEST_REGRESSION_PCT / 100). */
export const PERFORMANCE_REGRESSION_RATIO = 0.2;
/** MAD × this estimates the standard deviation of normally distributed samples. */
const MAD_TO_SD = 1.4826;

/** The thresholds (config.conquest carries them; the defaults are the spec's). */
export interface PerformanceRules {
  /** Earlier samples needed before anything can regress (CONQUEST_MIN_BASELINE). */
  minBaseline: number;
  /** Percent above the baseline median (CONQUEST_REGRESSION_PCT). */
  regressionPct: number;
  /** Robust standard deviations above the baseline median (CONQUEST_NOISE_K). */
  noiseK: number;
}
export const DEFAULT_PERFORMANCE_RULES: Readonly<PerformanceRules> = Object.freeze({
  minBaseline: 3,
  regressionPct: 20,
  noiseK: 3,
});

export type PerformanceReason =
  | 'insufficient_baseline'
  | 'within_threshold'
  | 'within_noise'
  | 'same_commit'
  | 'regressed';

/** Where the figures were measured: this run's commit and each baseline sample's (oldest first, as `previousMs`). */
export interface PerformanceCommits {
  current: string;
  previous: readonly string[];
}

export interface PerformanceVerdict {
  baselineMs: number | null;
  /** The median of this run's repeats. */
  currentMs: number;
  /** (current − baseline) / baseline; null without a baseline. */
  change: number | null;
  regressed: boolean;
  reason: PerformanceReason;
  /** How many earlier samples the baseline had (of the last five). */
  baselineSamples: number;
  /** Baseline median + k × MAD × 1.4826; null without a baseline. */
  noiseCeilingMs: number | null;
  /** One sentence for the run, the finding and the console. */
  why: string;
}

/**
 * Compares this run's figure (one number, or its repeats, whose median counts) with the last five earlier samples
 * (oldest first). With `commits`, a figure beyond threshold and noise is `same_commit`, not `regressed`, when all of the
 * baseline was measured at the current commit. Throws RangeError when `current` is an empty list.
 */
export function performanceVerdict(
  previousMs: readonly number[],
  current: number | readonly number[],
  rules: PerformanceRules = DEFAULT_PERFORMANCE_RULES,
  commits?: PerformanceCommits,
): PerformanceVerdict {
  const currentMs = typeof current === 'number' ? current : median(current);
  const recent = previousMs.slice(-PERFORMANCE_BASELINE_RUNS);
  const n = recent.length;
  if (n === 0 || n < rules.minBaseline) {
    const why = `${n} earlier sample${n === 1 ? '' : 's'}, ${rules.minBaseline} needed before a regression can be called`;
    const baselineMs = n === 0 ? null : median(recent);
    return {
      baselineMs,
      currentMs,
      change: relative(currentMs, baselineMs),
      regressed: false,
      reason: 'insufficient_baseline',
      baselineSamples: n,
      noiseCeilingMs: null,
      why,
    };
  }
  const baselineMs = median(recent);
  const mad = median(recent.map((ms) => Math.abs(ms - baselineMs)));
  const noiseCeilingMs = baselineMs + rules.noiseK * mad * MAD_TO_SD;
  const change = relative(currentMs, baselineMs);
  const base = { baselineMs, currentMs, change, baselineSamples: n, noiseCeilingMs };
  const shown = `${fmt(currentMs)} ms vs a median of ${fmt(baselineMs)} ms over ${n} runs (${change === null ? 'n/a' : `${change >= 0 ? '+' : ''}${fmt(change * 100)} %`})`;
  if (change === null || change * 100 <= rules.regressionPct) {
    return {
      ...base,
      regressed: false,
      reason: 'within_threshold',
      why: `${shown}: not more than ${rules.regressionPct} % slower`,
    };
  }
  if (currentMs <= noiseCeilingMs) {
    return {
      ...base,
      regressed: false,
      reason: 'within_noise',
      why: `${shown}: within the measured noise (up to ${fmt(noiseCeilingMs)} ms)`,
    };
  }
  const baselineCommits = commits?.previous.slice(-PERFORMANCE_BASELINE_RUNS) ?? [];
  if (commits !== undefined && baselineCommits.length === n && baselineCommits.every((c) => c === commits.current)) {
    return {
      ...base,
      regressed: false,
      reason: 'same_commit',
      why: `${shown}: beyond ${rules.regressionPct} % and the measured noise, but its ${n} baseline runs measured this same commit: the machine, not the code, changed`,
    };
  }
  return {
    ...base,
    regressed: true,
    reason: 'regressed',
    why: `${shown}: beyond ${rules.regressionPct} % and the measured noise (up to ${fmt(noiseCeilingMs)} ms)`,
  };
}

/**
 * Whether a measure that regressed from `regressedFromMs` (the baseline median when its regression began) is back
 * within the threshold of it: a recovery, which resolves the regression finding. Measured against the episode's own
 * starting baseline, not the recent median, which absorbs a lasting slowdown within a few runs.
 */
export function recoveredFrom(
  regressedFromMs: number,
  currentMs: number,
  rules: Pick<PerformanceRules, 'regressionPct'> = DEFAULT_PERFORMANCE_RULES,
): boolean {
  return currentMs <= regressedFromMs * (1 + rules.regressionPct / 100);
}

function relative(currentMs: number, baselineMs: number | null): number | null {
  if (baselineMs === null) return null;
  return baselineMs > 0 ? (currentMs - baselineMs) / baselineMs : null;
}

const fmt = (v: number): string => (Math.round(v * 10) / 10).toString();

/** Reads the bench contract: one JSON object `{"name": string, "ms": number}` per line; other lines are ignored. */
export function parseBenchOutput(stdout: string): Array<{ name: string; ms: number }> {
  const samples: Array<{ name: string; ms: number }> = [];
  for (const line of stdout.split('\n')) {
    const text = line.trim();
    if (!text.startsWith('{')) continue;
    try {
      const value = JSON.parse(text) as { name?: unknown; ms?: unknown };
      if (
        typeof value.name === 'string' &&
        value.name.length <= 200 &&
        typeof value.ms === 'number' &&
        Number.isFinite(value.ms) &&
        value.ms >= 0
      ) {
        samples.push({ name: value.name, ms: value.ms });
      }
    } catch {
      // not a sample line
    }
  }
  return samples;
}

/**
 * One run's repeats gathered per measure (first-seen order): the figures of each repeat of the bench command (or of
 * the timed test files) become `{ name, repeats }`, whose median `performanceVerdict` compares.
 */
export function collectRepeats(
  runs: ReadonlyArray<ReadonlyArray<{ name: string; ms: number }>>,
): Array<{ name: string; repeats: number[] }> {
  const byName = new Map<string, number[]>();
  for (const run of runs) for (const { name, ms } of run) byName.set(name, [...(byName.get(name) ?? []), ms]);
  return [...byName].map(([name, repeats]) => ({ name, repeats }));
}
