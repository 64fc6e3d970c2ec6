import { Redis } from 'ioredis';
import type { Client } from '@temporalio/client';
import type { MikroORM } from '@mikro-orm/postgresql';
import { createActivities } from '../../activities';
import { memoryRateLimitStore, redisRateLimitStore } from '../rate-limit-store';
import { listen, type RunningApi } from '../api/server';
import type { Config } from '../config';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import type { QueueKind } from '../contracts';
import { notConfigured } from '../llm/errors';
import { startWebhookDispatcher, type WebhookDispatcher } from '../notifications/dispatcher';
import { instrumentQueries } from '../db/query-metrics';
import { registerWorker } from '../db/workers';
import { createTemporalClient } from '../temporal/client';
import { scheduleDefinitions } from '../temporal/schedule-definitions';
import { syncSchedules } from '../temporal/schedules';
import { connectWorkers, createKindWorkers, type KindWorkers } from '../temporal/worker';
import { workerDependencies } from '../temporal/worker-deps';

interface Shared {
  config: Config;
  orm: MikroORM;
  logger: Logger;
  metrics: Metrics;
}

/** Starts the API with its Temporal client and rate-limit store; `close` releases all three. */
export async function startApi({ config, orm, logger, metrics }: Shared): Promise<RunningApi> {
  const temporal = createTemporalClient(config.temporal);
  const redis = config.redisUrl === undefined ? undefined : new Redis(config.redisUrl, { maxRetriesPerRequest: 2 });
  const rateLimitStore = redis === undefined ? memoryRateLimitStore() : redisRateLimitStore(redis);
  const api = await listen(
    { config, orm, temporal, logger, metrics, rateLimitStore },
    config.api.host,
    config.api.port,
  );
  logger.info(`API listening on ${api.url}`);
  return {
    ...api,
    close: async () => {
      await api.close();
      await temporal.connection.close();
      redis?.disconnect();
    },
  };
}

export interface RunningWorker {
  /** Resolves when the workers have stopped (after `shutdown`, or on a fatal error, which it rethrows). */
  done: Promise<void>;
  shutdown(): Promise<void>;
}

/**
 * Starts one Temporal worker per kind of work this process polls (`queues`, by default WORKER_QUEUES), each with its
 * concurrency cap; builds the sandbox and the LLM gateway only for the kinds that need them; and, in the process that
 * polls `workflows`, syncs the schedules and runs the webhook dispatcher.
 */
export async function startWorker(
  shared: Shared,
  opts: { queues?: readonly QueueKind[] } = {},
): Promise<RunningWorker> {
  const { config, orm, logger, metrics } = shared;
  const kinds = opts.queues ?? config.worker.queues;
  instrumentQueries(orm, metrics.dbQueryDuration);
  const redis = config.redisUrl === undefined ? undefined : new Redis(config.redisUrl, { maxRetriesPerRequest: 2 });
  const { llm, sandbox, hasSandbox } = await workerDependencies({ config, orm, logger, metrics, redis }, kinds);
  if (!llm.configured && kinds.includes('llm'))
    logger.warn(notConfigured().message + ' — LLM steps will fail; everything else runs');
  const client = createTemporalClient(config.temporal);
  const activities = createActivities({
    config,
    orm,
    logger: logger.child({ component: 'activities' }),
    metrics,
    llm,
    sandbox,
    temporal: client,
  });
  const connection = await connectWorkers(config.temporal);
  const close = async () => {
    await client.connection.close();
    await connection.close();
    redis?.disconnect();
  };
  let set: KindWorkers;
  let webhooks: WebhookDispatcher | undefined;
  try {
    const { taskQueue, namespace } = config.temporal;
    const { concurrency, shutdownGraceSeconds, tuning } = config.worker;
    set = await createKindWorkers({
      connection,
      namespace,
      taskQueue,
      kinds,
      concurrency,
      tuning,
      activities,
      shutdownGraceSeconds,
      workflowBundlePath: config.temporal.workflowBundlePath,
      logger: logger.child({ component: 'bundler' }),
    });
    webhooks = kinds.includes('workflows') ? await startWorkflowDuties(client, shared) : undefined;
  } catch (err) {
    await close();
    throw err;
  }
  const identity = set.workers[0]?.worker.options.identity;
  const registration = await registerWorker(orm, {
    identity,
    taskQueue: set.queues.join(','),
    sandbox: hasSandbox ? { ...sandbox.info } : {},
  });
  const done = set.run().finally(async () => {
    await llm.flush();
    await registration.stop();
    await webhooks?.stop();
    await close();
  });
  const polled = set.workers.map(
    ({ kind, queue }) => `"${queue}" (${kind}, activity slots: ${config.worker.concurrency[kind]})`,
  );
  logger.info(
    `worker polling ${polled.join(', ')}; sandbox isolation: ${hasSandbox ? sandbox.isolation : 'none (the sandbox queue is not polled here)'}`,
  );
  return {
    done,
    shutdown: async () => {
      set.shutdown();
      await done;
    },
  };
}

/**
 * What only a process that polls `workflows` does: sync the schedules, then run the webhook outbox (in every such
 * process: claims are idempotent across workers; it keeps the client).
 */
async function startWorkflowDuties(client: Client, { config, orm, logger }: Shared): Promise<WebhookDispatcher> {
  await syncSchedules(client, scheduleDefinitions(config), {
    catchupWindowSeconds: config.intervals.scheduleCatchupWindow,
    logger: logger.child({ component: 'schedules' }),
  });
  return startWebhookDispatcher({ orm, client, config, logger, taskQueue: config.temporal.taskQueue });
}
