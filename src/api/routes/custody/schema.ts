import { z } from 'zod';
import { AGENT_IDS, EXAM_CATEGORIES } from '../../../domain/agents';
import { EXAM_STATUSES } from '../../../db/entities';
import { paginationQuery } from '../../pagination';
import { text } from '../../text';

export const startExamBody = z.object({ agentId: z.enum(AGENT_IDS), category: z.enum(EXAM_CATEGORIES).optional() }).strict();

export const listExamsQuery = paginationQuery.extend({
  agentId: z.enum(AGENT_IDS).optional(),
  status: z.enum(EXAM_STATUSES).optional(),
  category: z.enum(EXAM_CATEGORIES).optional(),
});

/** An exam is addressed by its id or by its workflow id. */
export const examIdParams = z.object({ id: text(255, { trim: false }).regex(/^[A-Za-z0-9_.:-]+$/, 'must be an exam id or a workflow id') });

export const agentParams = z.object({ agentId: z.enum(AGENT_IDS) });
