import type { z } from 'zod';
import type { AuditLog } from '../../../db/entities';
import type { auditEntryResponse } from './schema';

export function presentAuditEntry(a: AuditLog): z.infer<typeof auditEntryResponse> {
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
