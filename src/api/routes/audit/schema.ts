import { z } from 'zod';
import { paginationQuery } from '../../pagination';
import { text } from '../../text';

/** `GET /audit` filters; all optional, combined with AND. */
export const listAuditQuery = paginationQuery.extend({
  actor: text(100, { trim: false }).optional().describe("the key's name, exactly"),
  keyPrefix: text(10, { trim: false }).optional().describe('the first characters of the key presented (matches keys starting with it)'),
  method: text(10, { trim: false })
    .regex(/^[A-Za-z]+$/, 'must be an HTTP method such as POST')
    .transform((m) => m.toUpperCase())
    .optional(),
  path: text(2000, { trim: false }).optional().describe('a path prefix, e.g. /api/proposals'),
  status: z.coerce.number().int().min(100).max(599).optional(),
  from: z.iso.datetime({ offset: true }).optional().describe('at or after (ISO 8601)'),
  to: z.iso.datetime({ offset: true }).optional().describe('before (ISO 8601)'),
});
