import type { z } from 'zod';
import type { AgentRun } from '../../db/entities';
import type { runResponse } from './runs.schema';

/** An agent run (scan, experiment, analysis, cycle) as every area's API shows it. */
export function presentRun(r: AgentRun): z.infer<typeof runResponse> {
  return {
    id: r.id,
    workflowId: r.workflowId,
    agentId: r.agentId,
    kind: r.kind,
    trigger: r.trigger,
    requestedBy: r.requestedBy,
    status: r.status,
    commit: r.commit,
    summary: r.summary,
    steps: r.steps,
    error: r.error,
    isolation: r.isolation,
    startedAt: r.startedAt.toISOString(),
    completedAt: r.completedAt?.toISOString() ?? null,
  };
}
