import { median } from './custody';

/** Conquest's rules (ARCHITECTURE §3.5): a measure regressed when it is more than 20 % slower than its recent median. */
export const PERFORMANCE_BASELINE_RUNS = 5;
export const PERFORMANCE_REGRESSION_RATIO = 0.2;

export interface PerformanceVerdict {
  baselineMs: number | null;
  currentMs: number;
  /** (current − baseline) / baseline; null without a baseline. */
  change: number | null;
  regressed: boolean;
}

/** Compares `currentMs` with the median of the last five earlier samples (oldest first); no baseline, no regression. */
export function performanceVerdict(previousMs: readonly number[], currentMs: number): PerformanceVerdict {
  const recent = previousMs.slice(-PERFORMANCE_BASELINE_RUNS);
  if (recent.length === 0) return { baselineMs: null, currentMs, change: null, regressed: false };
  const baselineMs = median(recent);
  const change = baselineMs > 0 ? (currentMs - baselineMs) / baselineMs : 0;
  return { baselineMs, currentMs, change, regressed: change > PERFORMANCE_REGRESSION_RATIO };
}

/** Reads the bench contract: one JSON object `{"name": string, "ms": number}` per line; other lines are ignored. */
export function parseBenchOutput(stdout: string): Array<{ name: string; ms: number }> {
  const samples: Array<{ name: string; ms: number }> = [];
  for (const line of stdout.split('\n')) {
    const text = line.trim();
    if (!text.startsWith('{')) continue;
    try {
      const value = JSON.parse(text) as { name?: unknown; ms?: unknown };
      if (typeof value.name === 'string' && value.name.length <= 200 && typeof value.ms === 'number' && Number.isFinite(value.ms) && value.ms >= 0) {
        samples.push({ name: value.name, ms: value.ms });
      }
    } catch {
      // not a sample line
    }
  }
  return samples;
}
