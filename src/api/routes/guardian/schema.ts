import { z } from 'zod';
import { FINDING_KINDS, FINDING_SEVERITIES, FINDING_STATUSES } from '../../../db/entities';
import { paginationQuery } from '../../pagination';
import { nullableTimestamp, pageOf, timestamp } from '../../responses';
import { text } from '../../text';

export const listFindingsQuery = paginationQuery.extend({
  severity: z.enum(FINDING_SEVERITIES).optional(),
  status: z.enum(FINDING_STATUSES).optional(),
  tool: text(40, { trim: false }).optional(),
});
export const findingParams = z.object({ id: z.uuid('must be a finding id') });
export const dismissBody = z.object({ reason: text(1000) }).strict();

/** A finding (`presentFinding`). */
export const findingResponse = z
  .object({
    id: z.uuid(),
    agentId: z.string(),
    kind: z.enum(FINDING_KINDS),
    tool: z.string().describe('the scanner that reported it'),
    rule: z.string(),
    severity: z.enum(FINDING_SEVERITIES),
    title: z.string(),
    message: z.string(),
    file: z.string().nullable(),
    line: z.number().int().nullable(),
    status: z.enum(FINDING_STATUSES),
    triage: z
      .object({
        verdict: z.enum(['true_positive', 'false_positive', 'needs_review']),
        severity: z.enum(FINDING_SEVERITIES).nullable(),
        explanation: z.string(),
        suggestedFix: z.string().nullable(),
        provider: z.string(),
        model: z.string(),
        at: z.string(),
      })
      .nullable()
      .describe("Guardian's model triage; null before it"),
    firstSeenAt: timestamp,
    lastSeenAt: timestamp,
    resolvedAt: nullableTimestamp,
    dismissedAt: nullableTimestamp,
    dismissedBy: z.string().nullable(),
    dismissReason: z.string().nullable(),
  })
  .meta({ id: 'Finding' });

export const findingPageResponse = pageOf(findingResponse);
