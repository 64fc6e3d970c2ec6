import { z } from 'zod';
import { timestamp } from '../../responses';
import { text } from '../../text';

export const performanceQuery = z.object({
  measure: text(200, { trim: false }).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});

/** `GET /conquest/performance`: each measure's samples, oldest first, and the verdict on the latest against the ones before. */
export const performanceResponse = z.object({
  measures: z.array(
    z.object({
      name: z.string(),
      latest: z
        .object({
          baselineMs: z.number().nullable(),
          currentMs: z.number(),
          change: z.number().nullable().describe('(current − baseline) / baseline'),
          regressed: z.boolean(),
          reason: z.enum(['insufficient_baseline', 'within_threshold', 'within_noise', 'same_commit', 'regressed']),
          baselineSamples: z.number().int(),
          noiseCeilingMs: z.number().nullable(),
          why: z.string(),
          commit: z.string(),
          at: timestamp,
        })
        .nullable(),
      samples: z.array(
        z.object({
          ms: z.number(),
          commit: z.string(),
          source: z.enum(['bench', 'tests']),
          runId: z.string(),
          at: timestamp,
        }),
      ),
    }),
  ),
});
