import { z } from 'zod';

/** The agents' own workflows (ARCHITECTURE §3.3–3.5): ids, inputs and results. */
export const GUARDIAN_SCAN_WORKFLOW = 'guardianScanWorkflow';
export const CONQUEST_ANALYSIS_WORKFLOW = 'conquestAnalysisWorkflow';

export function agentRunWorkflowId(kind: 'guardian-scan' | 'conquest-analysis', uuid: string): string {
  return `${kind}-${uuid}`;
}

export interface AgentRunInput {
  trigger: 'schedule' | 'api' | 'cycle';
  requestedBy?: string;
  /** Activity timeouts (ms); tests pass short ones. */
  timeouts?: { scanMs?: number; llmMs?: number; dbMs?: number };
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
  samples?: Array<{ name: string; currentMs: number; baselineMs: number | null; change: number | null; regressed: boolean }>;
  regressions?: string[];
}

/** Guardian's triage of new findings: one verdict per finding id. */
export const guardianTriageSchema = z.object({
  findings: z
    .array(
      z.object({
        id: z.string().min(1).max(64),
        verdict: z.enum(['true_positive', 'false_positive', 'needs_review']),
        explanation: z.string().min(1).max(2000),
        suggestedFix: z.string().max(4000).nullable().optional(),
      }),
    )
    .max(100),
});
