import { z } from 'zod';
import type { TestRunner } from '../domain/test-results';
import { SEVERITIES } from '../domain/findings';

/** The agents' own workflows (ARCHITECTURE §3.3–3.5): ids, inputs and results. */
export const GUARDIAN_SCAN_WORKFLOW = 'guardianScanWorkflow';
export const CONQUEST_ANALYSIS_WORKFLOW = 'conquestAnalysisWorkflow';
export const SANDBOX_EXPERIMENT_WORKFLOW = 'sandboxExperimentWorkflow';

export function agentRunWorkflowId(
  kind: 'guardian-scan' | 'conquest-analysis' | 'sandbox-experiment',
  uuid: string,
): string {
  return `${kind}-${uuid}`;
}

export interface AgentRunInput {
  trigger: 'schedule' | 'api' | 'cycle';
  requestedBy?: string;
  /** Activity timeouts (ms; starters fill them from config, see src/temporal/activity-timeouts.ts); tests pass short ones. */
  timeouts?: { scanMs?: number; llmMs?: number; dbMs?: number; heartbeatMs?: number };
}

export interface GuardianScanResult {
  runId: string;
  status: 'completed' | 'skipped';
  commit?: string;
  findings?: { total: number; new: number; reopened: number; resolved: number };
  tools?: Array<{ tool: string; status: string; detail: string }>;
  triage?: { triaged: number; unavailable?: string };
}

export interface ConquestAnalysisResult {
  runId: string;
  status: 'completed' | 'skipped';
  commit?: string;
  ok?: boolean;
  /** Per measure: this run's repeats (their median is `currentMs`) and the verdict, with why (src/domain/performance). */
  samples?: Array<{
    name: string;
    currentMs: number;
    baselineMs: number | null;
    change: number | null;
    regressed: boolean;
    repeats?: number[];
    reason?: string;
    baselineSamples?: number;
    why?: string;
  }>;
  regressions?: string[];
  /** The model's explanations of hot spots (unavailable, with the cause, without a provider). */
  explain?: ConquestExplanation | { unavailable: string };
}

/** What Conquest's explain step wrote: how many hot spots, their findings and who answered (absent when nothing was asked). */
export interface ConquestExplanation {
  explained: number;
  findingIds?: string[];
  provider?: string;
  model?: string;
}

export interface TestRunSummary {
  ok: boolean;
  exitCode: number | null;
  timedOut: boolean;
  tests: number | null;
  pass: number | null;
  fail: number | null;
  /** Skipped, pending and todo tests (absent on summaries stored before it was counted). */
  skip?: number | null;
  /** Whose output the counts were read from (`unknown` when none was recognized). */
  runner?: TestRunner;
  /** How the sandbox isolated the run (absent on summaries stored before it was recorded). */
  isolation?: 'bwrap' | 'process';
  durationMs: number;
  outputTail: string;
}

export interface ExperimentOutcome {
  file: string;
  rationale: string;
  passed: boolean;
  coversNewModules: string[];
  findingId: string | null;
  outputTail: string;
}

export interface SandboxExperimentResult {
  runId: string;
  status: 'completed' | 'skipped';
  commit?: string;
  tests?: TestRunSummary;
  experiment?: ExperimentOutcome | { unavailable: string };
}

/** Sandbox's designed experiment: one new test file for the target. */
export const experimentDesignSchema = z.object({
  file: z.string().regex(/^test\/[A-Za-z0-9_-]+\.test\.js$/, 'must be test/<name>.test.js'),
  content: z.string().min(20).max(20_000),
  rationale: z.string().min(1).max(2000),
});

/** Guardian's triage of new findings: one verdict and severity assessment per finding id (§3.3). */
export const guardianTriageSchema = z.object({
  findings: z
    .array(
      z.object({
        id: z.string().min(1).max(64),
        verdict: z.enum(['true_positive', 'false_positive', 'needs_review']),
        severity: z
          .enum(SEVERITIES)
          .describe('your assessment of the severity in this code, which may differ from the scanner’s'),
        explanation: z.string().min(1).max(2000),
        suggestedFix: z.string().max(4000).nullable().optional(),
      }),
    )
    .max(100),
});

/** Conquest's explanation of measured hot spots: why each is slow and what would make it faster. */
export const conquestExplanationSchema = z.object({
  hotspots: z
    .array(
      z.object({
        measure: z.string().min(1).max(200),
        file: z.string().max(500).nullable(),
        explanation: z.string().min(1).max(2000),
        suggestion: z.string().min(1).max(4000),
        expectedGain: z.string().max(300).nullable(),
      }),
    )
    .max(10),
});
