import { z } from 'zod';
import { KPI_NAMES } from '../../../domain/kpis';
import { timestamp } from '../../responses';

/** One KPI measured against its target (`presentKpi`). */
export const kpiResponse = z
  .object({
    name: z.enum(KPI_NAMES as [string, ...string[]]),
    label: z.string(),
    value: z.number().nullable().describe('null when there is no data yet (`detail` says why)'),
    unit: z.enum(['ms', '%', 'alpha']),
    target: z.number(),
    comparator: z.enum(['<=', '>=']),
    met: z.boolean().nullable(),
    window: z.string(),
    source: z.string(),
    detail: z.string(),
  })
  .meta({ id: 'Kpi' });

export const kpiSummaryResponse = z.object({
  met: z.number().int(),
  notMet: z.number().int(),
  noData: z.number().int(),
});

export const kpisResponse = z.object({
  measuredAt: timestamp,
  summary: kpiSummaryResponse,
  items: z.array(kpiResponse),
});
