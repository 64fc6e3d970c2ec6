import type { Config } from '../config';
import { llmStartToCloseMs } from '../contracts/llm';

/** What every workflow input's `timeouts` may carry; a workflow falls back to its own defaults for what is absent. */
export interface ActivityTimeouts {
  /** Start-to-close of an activity that makes LLM calls. */
  llmMs: number;
  /** Start-to-close added for one sandbox run of an exam item's code tests (the grader gets llmMs + sandboxMs). */
  sandboxMs: number;
  /** Start-to-close of a scan, experiment run, measurement or proposal check: an install plus several sandbox runs. */
  scanMs: number;
  /** Heartbeat timeout of every long activity: a dead worker is noticed after this long, not at start-to-close. */
  heartbeatMs: number;
}

/** Margin over the longest thing an activity waits for, so it is never retried while that thing may still run. */
const MARGIN_MS = 30_000;

/**
 * The activity timeouts the starters (API routes, schedules, the learning cycle through its input) put in every
 * workflow input, derived from config (docs/operations.md "Timeouts and heartbeats"):
 * - LLM activities: `llmStartToCloseMs(LLM_TIMEOUT_SECONDS)`, a call and its repair on the primary profile and on the
 *   fallback, each bounded by the provider deadline, plus a margin: an attempt ends before Temporal retries it.
 * - an exam's code-test grading: one sandbox run (`SANDBOX_TIMEOUT_SECONDS`) plus a margin, on top of the LLM time.
 * - scans, experiments, measurements, proposal checks: one install (`TARGET_SETUP_TIMEOUT_SECONDS`) plus
 *   `CONQUEST_BENCH_REPEATS` + 2 sandbox runs (the repeats, a baseline/first run and a check run) plus a margin.
 * - heartbeats: `ACTIVITY_HEARTBEAT_TIMEOUT_SECONDS`.
 */
export function activityTimeouts(
  config: Pick<Config, 'llm' | 'sandbox' | 'workspace' | 'conquest' | 'worker'>,
): ActivityTimeouts {
  const sandboxRunMs = config.sandbox.timeoutSeconds * 1000;
  const setupMs = config.workspace.setupTimeoutSeconds * 1000;
  return {
    llmMs: llmStartToCloseMs(config.llm.timeoutMs),
    sandboxMs: sandboxRunMs + MARGIN_MS,
    scanMs: setupMs + sandboxRunMs * (config.conquest.benchRepeats + 2) + 2 * MARGIN_MS,
    heartbeatMs: config.worker.heartbeatTimeoutSeconds * 1000,
  };
}
