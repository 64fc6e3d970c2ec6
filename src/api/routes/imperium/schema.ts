import { z } from 'zod';
import { AGENT_IDS } from '../../../domain/agents';
import { paginationQuery } from '../../pagination';

export const knowledgeQuery = paginationQuery.extend({
  agent: z.enum(AGENT_IDS).optional(),
  q: z.string().trim().min(1).max(200).optional(),
});
