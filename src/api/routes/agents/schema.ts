import { z } from 'zod';
import { AGENT_STATUSES } from '../../../domain/agents';
import { paginationQuery } from '../../pagination';
import { text } from '../../text';

export const agentIdParams = z.object({
  id: z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, 'must be an agent id such as "guardian"'),
});

export const listAgentsQuery = paginationQuery.extend({
  status: z.enum(AGENT_STATUSES).optional(),
});

export const changeStatusBody = z
  .object({ reason: text(500).optional() })
  .strict()
  .default({});
