import {
  ScheduleAlreadyRunning,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleOptions,
  type ScheduleUpdateOptions,
} from '@temporalio/client';
import type { Logger } from '../logger';

/** One recurring workflow, run every `intervalSeconds` on `taskQueue`. */
export interface ScheduleDefinition {
  id: string;
  workflowType: string;
  args: unknown[];
  taskQueue: string;
  intervalSeconds: number;
  /** Workflow ids become `<workflowIdPrefix>-<scheduled time>`. */
  workflowIdPrefix: string;
  note: string;
}

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
    spec: { intervals: [{ every: `${def.intervalSeconds}s` }] },
    action: {
      type: 'startWorkflow',
      workflowType: def.workflowType,
      args: def.args,
      taskQueue: def.taskQueue,
      workflowId: def.workflowIdPrefix,
    },
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: `${catchupWindowSeconds}s` },
    state: { note: def.note },
  };
}
