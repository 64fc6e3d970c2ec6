import type { z } from 'zod';
import type { Kpi } from '../../../domain/kpis';
import type { kpiResponse, kpiSummaryResponse } from './schema';

/** One KPI as the API shows it: values rounded for reading (met was judged on the unrounded value). */
export function presentKpi(k: Kpi): z.infer<typeof kpiResponse> {
  const digits = k.unit === 'ms' ? 1 : 3;
  const f = 10 ** digits;
  return {
    name: k.name,
    label: k.label,
    value: k.value === null ? null : Math.round(k.value * f) / f,
    unit: k.unit,
    target: k.target,
    comparator: k.comparator,
    met: k.met,
    window: k.window,
    source: k.source,
    detail: k.detail,
  };
}

/** How many KPIs meet their target, miss it, or have no data yet. */
export function presentSummary(kpis: readonly Kpi[]): z.infer<typeof kpiSummaryResponse> {
  return {
    met: kpis.filter((k) => k.met === true).length,
    notMet: kpis.filter((k) => k.met === false).length,
    noData: kpis.filter((k) => k.met === null).length,
  };
}
