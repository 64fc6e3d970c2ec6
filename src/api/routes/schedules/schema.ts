import { z } from 'zod';
import { timestamp } from '../../responses';
import { text } from '../../text';

export const scheduleIdParams = z.object({
  id: text(100, { trim: false }).regex(/^[a-z0-9-]+$/, 'must be a schedule id'),
});

export const scheduleActionBody = z
  .object({ reason: text(500).optional() })
  .strict()
  .default({});

/** `GET /schedules`: each recurring workflow; `exists` false until the worker created it (then `paused` is null). */
export const schedulesResponse = z.object({
  items: z.array(
    z.object({
      id: z.string(),
      workflowType: z.string(),
      intervalSeconds: z.number().nullable(),
      calendar: z
        .object({ dayOfWeek: z.string(), hour: z.number().int(), minute: z.number().int() })
        .nullable()
        .describe('a weekly time (UTC), for schedules not run every `intervalSeconds`'),
      note: z.string(),
      exists: z.boolean(),
      paused: z.boolean().nullable(),
      pauseNote: z.string().nullable(),
      nextRuns: z.array(timestamp),
      recentRuns: z.array(z.object({ at: timestamp, workflowId: z.string() })),
    }),
  ),
});

export const scheduleActionResponse = z.object({
  id: z.string(),
  action: z.enum(['pause', 'unpause', 'trigger']),
  done: z.literal(true),
});
