import { z } from 'zod';
import { AGENT_IDS, EXAM_CATEGORIES, type AgentId } from '../domain/agents';
import { MAX_NOTES, MAX_TOPICS } from '../domain/learning';
import type { AgentRunInput } from './agent-runs';

/** Imperium's learning cycle (ARCHITECTURE §3.2): id, input, result and the model's plan and notes. */
export const LEARNING_CYCLE_WORKFLOW = 'learningCycleWorkflow';

/** `learning-cycle-<iso-time>`; a schedule's runs get the same shape from Temporal (prefix + scheduled time). */
export function learningCycleWorkflowId(at: Date): string {
  return `learning-cycle-${at.toISOString()}`;
}

/** The agents whose own workflow runs as the cycle's child. */
export const CYCLE_CHILDREN = ['guardian', 'sandbox', 'conquest'] as const;
export type CycleChildAgent = (typeof CYCLE_CHILDREN)[number];

export interface LearningCycleInput {
  trigger: 'schedule' | 'api';
  requestedBy?: string;
  /** Activity timeouts (ms) for the cycle and, unless `childTimeouts` says otherwise, its children; tests pass short ones. */
  timeouts?: { llmMs?: number; dbMs?: number; scanMs?: number; childMs?: number; heartbeatMs?: number };
  childTimeouts?: Partial<Record<CycleChildAgent, AgentRunInput['timeouts']>>;
}

export interface CycleTopic {
  title: string;
  category: string | null;
  why: string;
}

export interface CyclePlan {
  planner: 'model' | 'weakest_categories';
  /** why the model did not plan (no provider, budget, failure) */
  plannerUnavailable?: string;
  agents: Array<{
    agentId: AgentId;
    status: 'active' | 'paused';
    weakest: string[];
    openFindings: number;
    topics: CycleTopic[];
  }>;
}

export interface CycleChildOutcome {
  agentId: CycleChildAgent;
  workflowId: string;
  status: 'completed' | 'skipped' | 'failed';
  runId?: string;
  error?: string;
}

export interface CycleStudyOutcome {
  agentId: string;
  notes: number;
  noteIds?: string[];
  unavailable?: string;
}

export interface CycleProposalCandidate {
  agentId: AgentId;
  eligible: boolean;
  reasons: string[];
  findingId: string | null;
}

export interface LearningCycleResult {
  runId: string;
  status: 'completed' | 'skipped';
  plan?: CyclePlan;
  children?: CycleChildOutcome[];
  study?: CycleStudyOutcome[];
  proposals?: { candidates: CycleProposalCandidate[]; started: string[] };
  usage?: { calls: number; tokens: number; costUsd: number };
}

/** Imperium's plan: up to 3 study topics per agent. */
export const cyclePlanSchema = z.object({
  agents: z
    .array(
      z.object({
        agentId: z.enum(AGENT_IDS),
        topics: z
          .array(
            z.object({
              title: z.string().min(3).max(200),
              category: z.enum(EXAM_CATEGORIES).nullable(),
              why: z.string().min(1).max(1000),
            }),
          )
          .max(MAX_TOPICS),
      }),
    )
    .max(AGENT_IDS.length),
});

/** An agent's study: up to 3 knowledge notes, each citing what it was written from. */
export const studyNotesSchema = z.object({
  notes: z
    .array(
      z.object({
        title: z.string().min(3).max(300),
        body: z.string().min(20).max(8000),
        category: z.enum(EXAM_CATEGORIES).nullable(),
        sources: z
          .array(z.object({ kind: z.enum(['topic', 'finding', 'run']), ref: z.string().min(1).max(300) }))
          .max(10),
      }),
    )
    .max(MAX_NOTES),
});
