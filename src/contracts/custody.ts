import type { AgentId, ExamCategory } from '../domain/agents';

/** The custody exam workflow's contract (ARCHITECTURE §3.1). */
export const CUSTODY_EXAM_WORKFLOW = 'custodyExamWorkflow';

/** `custody-<agent>-<uuid>` for exams started through the API; schedules append the scheduled time instead. */
export function custodyWorkflowId(agentId: AgentId, uuid: string): string {
  return `custody-${agentId}-${uuid}`;
}

export interface CustodyExamInput {
  agentId: AgentId;
  category?: ExamCategory;
  trigger: 'schedule' | 'api';
  requestedBy?: string;
  /** Activity timeouts (ms); tests pass short ones. Defaults: LLM steps 5 min, sandbox steps 2 min, DB steps 30 s, no heartbeat timeout;
   * starters fill them from config (src/temporal/activity-timeouts.ts). */
  timeouts?: { llmMs?: number; sandboxMs?: number; dbMs?: number; heartbeatMs?: number };
}

export interface CustodyExamResult {
  examId: string;
  status: 'passed' | 'failed' | 'skipped' | 'error' | 'cancelled';
  score: number | null;
  reason?: string;
}

/** The plan the first step stores and returns: what this exam is. */
export interface ExamPlan {
  examId: string;
  skipped: boolean;
  skipReason?: string;
  category: ExamCategory;
  difficulty: string;
  olympus: boolean;
  passMark: number;
  /** The borderline margin the exam was planned under (absent from plans recorded before it was: the default, 5). */
  borderlineMargin?: number;
  itemCount: number;
  timeLimitSeconds: number;
}

/** The steps of an exam, in order, as reported by the `progress` query and stored on the exam row. */
export const CUSTODY_STEPS = ['plan', 'generate', 'answer', 'grade', 'rejudge', 'score', 'done'] as const;
