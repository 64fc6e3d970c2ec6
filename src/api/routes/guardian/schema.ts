import { z } from 'zod';
import { FINDING_SEVERITIES, FINDING_STATUSES } from '../../../db/entities';
import { paginationQuery } from '../../pagination';
import { text } from '../../text';

export const listFindingsQuery = paginationQuery.extend({
  severity: z.enum(FINDING_SEVERITIES).optional(),
  status: z.enum(FINDING_STATUSES).optional(),
  tool: text(40, { trim: false }).optional(),
});
export const findingParams = z.object({ id: z.uuid('must be a finding id') });
export const dismissBody = z.object({ reason: text(1000) }).strict();
