import { z } from 'zod';
import { FINDING_SEVERITIES, FINDING_STATUSES } from '../../../db/entities';
import { paginationQuery } from '../../pagination';

export const listFindingsQuery = paginationQuery.extend({
  severity: z.enum(FINDING_SEVERITIES).optional(),
  status: z.enum(FINDING_STATUSES).optional(),
  tool: z.string().min(1).max(40).optional(),
});
export const findingParams = z.object({ id: z.uuid('must be a finding id') });
export const dismissBody = z.object({ reason: z.string().trim().min(1).max(1000) }).strict();
