import { z } from 'zod';
import { paginationQuery } from '../../pagination';
import { pageOf, timestamp } from '../../responses';
import { text } from '../../text';

/** `GET /audit` filters; all optional, combined with AND. */
export const listAuditQuery = paginationQuery.extend({
  actor: text(100, { trim: false }).optional().describe("the key's name, exactly"),
  keyPrefix: text(10, { trim: false })
    .optional()
    .describe('the first characters of the key presented (matches keys starting with it)'),
  method: text(10, { trim: false })
    .regex(/^[A-Za-z]+$/, 'must be an HTTP method such as POST')
    .transform((m) => m.toUpperCase())
    .optional(),
  path: text(2000, { trim: false }).optional().describe('a path prefix, e.g. /api/proposals'),
  status: z.coerce.number().int().min(100).max(599).optional(),
  from: z.iso.datetime({ offset: true }).optional().describe('at or after (ISO 8601)'),
  to: z.iso.datetime({ offset: true }).optional().describe('before (ISO 8601)'),
});

/** One audit entry (`presentAuditEntry`): who (the key, or only its first characters when it was not recognised), what, and how it was answered. */
export const auditEntryResponse = z
  .object({
    id: z.string(),
    at: timestamp,
    actorKeyId: z.string().nullable(),
    actorName: z.string().nullable(),
    actorRole: z.string().nullable(),
    keyPrefix: z.string().nullable().describe('the first characters of a key that did not authenticate'),
    method: z.string(),
    path: z.string(),
    action: z.string(),
    target: z.string().nullable(),
    status: z.number().int(),
    ip: z.string().nullable(),
    userAgent: z.string().nullable(),
    requestId: z.string().nullable(),
  })
  .meta({ id: 'AuditEntry' });

export const auditPageResponse = pageOf(auditEntryResponse);
