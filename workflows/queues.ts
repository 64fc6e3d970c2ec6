import {
  patched,
  proxyActivities,
  workflowInfo,
  type ActivityInterfaceFor,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { activityQueues, QUEUE_KINDS, queueKindOf, type QueueKind } from '../src/contracts';

/** The patch under which a workflow sends each activity to the task queue of its kind (LLM, sandbox, the rest). */
export const ACTIVITIES_BY_QUEUE_KIND = 'activities-by-queue-kind';

/**
 * `proxyActivities` that routes each call to the queue of the activity's kind (ACTIVITY_QUEUE_KINDS), derived from the
 * workflow's own queue: an LLM step to `<queue>-llm`, a sandbox step to `<queue>-sandbox`, the rest to the workflow's
 * queue. `itemKind` picks the queue of a step routed by exam item (custodyGradeItem). Histories recorded before the
 * patch replay with every activity on the workflow's queue, as they ran.
 */
export function proxyByKind(options: ActivityOptions, itemKind?: string): ActivityInterfaceFor<Activities> {
  if (!patched(ACTIVITIES_BY_QUEUE_KIND)) return proxyActivities<Activities>(options);
  const queues = activityQueues(workflowInfo().taskQueue);
  const proxies = Object.fromEntries(
    QUEUE_KINDS.map((kind) => [
      kind,
      proxyActivities<Activities>(kind === 'workflows' ? options : { ...options, taskQueue: queues[kind] }),
    ]),
  ) as Record<QueueKind, ActivityInterfaceFor<Activities>>;
  return new Proxy({} as ActivityInterfaceFor<Activities>, {
    get: (_target, name) =>
      typeof name === 'string' ? proxies[queueKindOf(name, itemKind)][name as keyof Activities] : undefined,
  });
}
