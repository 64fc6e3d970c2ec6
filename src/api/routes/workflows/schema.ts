import { z } from 'zod';
import { timestamp } from '../../responses';

/** A workflow's `progress` query, null when no worker answers within 3 s. */
export const workflowProgressResponse = z
  .object({
    step: z.string(),
    state: z.enum(['running', 'completed', 'failed']),
    completedSteps: z.array(z.string()),
    detail: z.record(z.string(), z.unknown()).optional(),
  })
  .nullable();

/** `GET /workflows/:id`: Temporal's description of the latest run, and its progress. */
export const workflowResponse = z
  .object({
    workflowId: z.string(),
    runId: z.string(),
    type: z.string(),
    status: z
      .enum([
        'UNSPECIFIED',
        'RUNNING',
        'COMPLETED',
        'FAILED',
        'CANCELLED',
        'TERMINATED',
        'CONTINUED_AS_NEW',
        'TIMED_OUT',
        'PAUSED',
        'UNKNOWN',
      ])
      .describe("Temporal's execution status"),
    taskQueue: z.string(),
    startTime: timestamp,
    closeTime: timestamp.nullable(),
    historyLength: z.number().int(),
    progress: workflowProgressResponse,
  })
  .meta({ id: 'Workflow' });
