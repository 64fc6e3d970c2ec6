import { z } from 'zod';
import { AGENT_RUN_KINDS, AGENT_RUN_STATUSES } from '../../db/entities';
import { paginationQuery } from '../pagination';
import { jsonObject, nullableTimestamp, pageOf, timestamp } from '../responses';
import { text } from '../text';

/** A run is addressed by its id or by its workflow id. */
export const runIdParams = z.object({
  id: text(255, { trim: false }).regex(/^[A-Za-z0-9_.:-]+$/, 'must be a run id or a workflow id'),
});

export const listRunsQuery = paginationQuery.extend({ status: z.enum(AGENT_RUN_STATUSES).optional() });

/** What starting a run answers (202): the workflow id, the id of the run recorded for it, its status URL and the route's own links; for the docs. */
export const startedRunResponse = z
  .object({ workflowId: z.string(), runId: z.string(), statusUrl: z.string() })
  .catchall(z.string())
  .meta({ id: 'StartedRun' });

/** The 409 of a start: what conflicts. */
export const startRunConflict = 'the agent is paused, or the workflow is already running';

/** An agent run (`presentRun`): a scan, an experiment, an analysis or a learning cycle. */
export const runResponse = z
  .object({
    id: z.uuid(),
    workflowId: z.string(),
    agentId: z.string(),
    kind: z.enum(AGENT_RUN_KINDS),
    trigger: z.string().describe('`api` or `schedule`'),
    requestedBy: z.string().nullable(),
    status: z.enum(AGENT_RUN_STATUSES),
    commit: z.string().nullable().describe('the target commit it worked on'),
    summary: jsonObject.describe("the run's results; its fields depend on the kind"),
    steps: z
      .array(z.object({ step: z.string(), at: z.string(), detail: z.string().optional() }))
      .describe("every step's outcome, timing and cost, in order"),
    error: z.string().nullable(),
    isolation: z
      .string()
      .nullable()
      .describe('how the sandbox isolated target code (`bwrap`, `process`); null when it ran none'),
    startedAt: timestamp,
    completedAt: nullableTimestamp,
  })
  .meta({ id: 'AgentRun' });

export const runPageResponse = pageOf(runResponse);
