import { z } from 'zod';
import { AGENT_RUN_STATUSES } from '../../db/entities';
import { paginationQuery } from '../pagination';
import { text } from '../text';

/** A run is addressed by its id or by its workflow id. */
export const runIdParams = z.object({ id: text(255, { trim: false }).regex(/^[A-Za-z0-9_.:-]+$/, 'must be a run id or a workflow id') });

export const listRunsQuery = paginationQuery.extend({ status: z.enum(AGENT_RUN_STATUSES).optional() });

/** What starting a run answers (202): the workflow id, the id of the run recorded for it, its status URL and the route's own links; for the docs. */
export const startedRunResponse = z.object({ workflowId: z.string(), runId: z.string(), statusUrl: z.string() }).catchall(z.string());
