import {
  ScheduleAlreadyRunning,
  ScheduleOverlapPolicy,
  type Client,
  type DayOfWeek,
  type ScheduleOptions,
  type ScheduleSpec,
  type ScheduleUpdateOptions,
} from '@temporalio/client';
import type { Logger } from '../logger';

/** A time of the week in UTC, e.g. `{ dayOfWeek: 'MONDAY', hour: 9, minute: 0 }`. */
export interface WeeklyCalendar {
  dayOfWeek: DayOfWeek;
  hour: number;
  minute: number;
}

/**
 * One recurring workflow on `taskQueue`, run either every `intervalSeconds` or at a `calendar` time (UTC) — exactly
 * one of the two.
 */
export type ScheduleDefinition = {
  id: string;
  workflowType: string;
  args: unknown[];
  taskQueue: string;
  /** Workflow ids become `<workflowIdPrefix>-<scheduled time>`. */
  workflowIdPrefix: string;
  note: string;
  /** the started workflow's execution timeout: a run that hangs times out and the reconciler ends its row */
  executionTimeoutSeconds?: number;
} & (
  | {
      intervalSeconds: number;
      /** where in each interval it fires (default 0: epoch-aligned) */ offsetSeconds?: number;
      calendar?: never;
    }
  | { calendar: WeeklyCalendar; intervalSeconds?: never; offsetSeconds?: never }
);

export interface SyncResult {
  created: string[];
  updated: string[];
}

/**
 * Creates each schedule, or updates its spec, action and policies when it exists (keeping whether an operator paused
 * it), so running it on every worker start — or from two workers at once — leaves exactly one schedule per id.
 */
export async function syncSchedules(
  client: Client,
  definitions: ScheduleDefinition[],
  opts: { catchupWindowSeconds: number; logger: Logger },
): Promise<SyncResult> {
  const result: SyncResult = { created: [], updated: [] };
  for (const def of definitions) {
    const options = toScheduleOptions(def, opts.catchupWindowSeconds);
    try {
      await client.schedule.create(options);
      result.created.push(def.id);
    } catch (err) {
      if (!(err instanceof ScheduleAlreadyRunning)) throw err;
      await client.schedule.getHandle(def.id).update(
        (previous): ScheduleUpdateOptions => ({
          ...previous,
          spec: options.spec,
          action: options.action,
          policies: options.policies,
        }),
      );
      result.updated.push(def.id);
    }
  }
  opts.logger.info('schedules synced', result);
  return result;
}

function toScheduleOptions(def: ScheduleDefinition, catchupWindowSeconds: number): ScheduleOptions {
  return {
    scheduleId: def.id,
    spec: toScheduleSpec(def),
    action: {
      type: 'startWorkflow',
      workflowType: def.workflowType,
      args: def.args,
      taskQueue: def.taskQueue,
      workflowId: def.workflowIdPrefix,
      ...(def.executionTimeoutSeconds !== undefined && { workflowExecutionTimeout: `${def.executionTimeoutSeconds}s` }),
    },
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: `${catchupWindowSeconds}s` },
    state: { note: def.note },
  };
}

/** The Temporal spec of a definition: one interval with its offset, or one calendar time in UTC. */
export function toScheduleSpec(def: ScheduleDefinition): ScheduleSpec {
  if (def.calendar !== undefined) {
    const { dayOfWeek, hour, minute } = def.calendar;
    return { calendars: [{ dayOfWeek, hour, minute, comment: def.note }], timezone: 'UTC' };
  }
  return { intervals: [{ every: `${def.intervalSeconds}s`, offset: `${def.offsetSeconds ?? 0}s` }] };
}
