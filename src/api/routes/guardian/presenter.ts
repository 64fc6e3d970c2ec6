import type { AgentRun, Finding } from '../../../db/entities';

export function presentRun(r: AgentRun) {
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
    startedAt: r.startedAt.toISOString(),
    completedAt: r.completedAt?.toISOString() ?? null,
  };
}

export function presentFinding(f: Finding) {
  return {
    id: f.id,
    agentId: f.agentId,
    kind: f.kind,
    tool: f.tool,
    rule: f.rule,
    severity: f.severity,
    title: f.title,
    message: f.message,
    file: f.file,
    line: f.line,
    status: f.status,
    triage: f.triage,
    firstSeenAt: f.firstSeenAt.toISOString(),
    lastSeenAt: f.lastSeenAt.toISOString(),
    resolvedAt: f.resolvedAt?.toISOString() ?? null,
    dismissedAt: f.dismissedAt?.toISOString() ?? null,
    dismissedBy: f.dismissedBy,
    dismissReason: f.dismissReason,
  };
}
