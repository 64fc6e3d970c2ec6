import type { z } from 'zod';
import type { Finding } from '../../../db/entities';
import type { findingResponse } from './schema';

export function presentFinding(f: Finding): z.infer<typeof findingResponse> {
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
