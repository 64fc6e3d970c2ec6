import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import {
  AgentRun,
  Exam,
  Proposal,
  TokenUsageEvent,
  type AgentRunKind,
  type AgentRunStatus,
  type ExamOutcome,
  type ExamStatus,
  type LlmOutcome,
  type ProposalState,
} from '../../src/db/entities';
import type { AgentId } from '../../src/domain/agents';
import { budgetMonth } from '../../src/domain/llm';

/** Rows written straight to the tables the reports and KPIs read, at chosen times (no workflow needed). */

export interface LedgerRow {
  at: Date;
  agentId: AgentId | null;
  provider: 'openai' | 'anthropic';
  model?: string;
  inputTokens?: number;
  outputTokens?: number;
  costUsd?: number;
  outcome?: LlmOutcome;
}

export async function seedLedger(em: EntityManager, rows: LedgerRow[]): Promise<void> {
  for (const r of rows) {
    const outcome = r.outcome ?? 'ok';
    em.persist(
      new TokenUsageEvent({
        at: r.at,
        month: budgetMonth(r.at),
        agentId: r.agentId,
        purpose: 'test.seed',
        provider: r.provider,
        model: r.model ?? (r.provider === 'openai' ? 'gpt-4o-mini' : 'claude-3-5-haiku-latest'),
        workflowId: null,
        activityId: null,
        attempt: null,
        inputTokens: r.inputTokens ?? 0,
        outputTokens: r.outputTokens ?? 0,
        costUsd: r.costUsd ?? 0,
        latencyMs: 10,
        outcome,
        cacheHit: outcome === 'cache_hit',
        error: null,
      }),
    );
  }
  await em.flush();
}

export async function seedExam(
  em: EntityManager,
  e: { agentId: AgentId; status: ExamStatus; completedAt: Date | null; levels?: [number, number] },
): Promise<Exam> {
  const id = randomUUID();
  const exam = new Exam({
    id,
    workflowId: `custody-${e.agentId}-${id}`,
    agentId: e.agentId,
    category: 'code_quality',
    difficulty: 'basic',
    olympus: false,
    examNumber: 1,
    passMark: 70,
    timeLimitSeconds: 600,
    itemCount: 3,
    trigger: 'api',
    requestedBy: null,
  });
  exam.status = e.status;
  exam.completedAt = e.completedAt;
  exam.startedAt = new Date((e.completedAt ?? new Date()).getTime() - 60_000);
  if (e.status === 'passed' || e.status === 'failed') exam.score = e.status === 'passed' ? 80 : 40;
  if (e.levels !== undefined) {
    const [levelBefore, levelAfter] = e.levels;
    const outcome: ExamOutcome = {
      xpBefore: 0,
      xpDelta: 50,
      xpAfter: 50,
      levelBefore,
      levelAfter,
      levelHeldReason: null,
      ratingBefore: 1200,
      ratingAfter: 1216,
      regression: null,
    };
    exam.outcome = outcome;
  }
  await em.persistAndFlush(exam);
  return exam;
}

export async function seedProposal(
  em: EntityManager,
  p: {
    agentId: AgentId;
    status: ProposalState;
    completedAt: Date | null;
    review?: { decision: 'approve' | 'reject'; at: Date };
  },
): Promise<Proposal> {
  const id = randomUUID();
  const proposal = new Proposal({
    id,
    workflowId: `proposal-${id}`,
    agentId: p.agentId,
    findingId: null,
    goal: 'seeded',
    trigger: 'api',
    requestedBy: null,
  });
  proposal.status = p.status;
  proposal.completedAt = p.completedAt;
  if (p.review)
    proposal.review = { decision: p.review.decision, reviewer: 'ops', comment: null, at: p.review.at.toISOString() };
  await em.persistAndFlush(proposal);
  return proposal;
}

export async function seedRun(
  em: EntityManager,
  r: { agentId: AgentId; kind: AgentRunKind; status: AgentRunStatus; startedAt: Date; completedAt?: Date | null },
): Promise<AgentRun> {
  const id = randomUUID();
  const run = new AgentRun({
    id,
    workflowId: `${r.kind}-${id}`,
    agentId: r.agentId,
    kind: r.kind,
    trigger: 'api',
    requestedBy: null,
  });
  run.status = r.status;
  run.startedAt = r.startedAt;
  run.completedAt =
    r.completedAt === undefined
      ? r.status === 'running'
        ? null
        : new Date(r.startedAt.getTime() + 60_000)
      : r.completedAt;
  await em.persistAndFlush(run);
  return run;
}
