import type { AuditLog } from '../../../db/entities';

export function presentAuditEntry(a: AuditLog) {
  return {
    id: String(a.id),
    at: a.at.toISOString(),
    actorKeyId: a.actorKeyId,
    actorName: a.actorName,
    actorRole: a.actorRole,
    keyPrefix: a.keyPrefix,
    method: a.method,
    path: a.path,
    action: a.action,
    target: a.target,
    status: a.status,
    ip: a.ip,
    userAgent: a.userAgent,
    requestId: a.requestId,
  };
}
