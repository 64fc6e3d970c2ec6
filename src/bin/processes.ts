import { Redis } from 'ioredis';
import type { MikroORM } from '@mikro-orm/postgresql';
import { createActivities } from '../../activities';
import { memoryRateLimitStore, redisRateLimitStore } from '../rate-limit-store';
import { listen, type RunningApi } from '../api/server';
import type { Config } from '../config';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import { createLlmGateway } from '../llm';
import { notConfigured } from '../llm/errors';
import { startWebhookDispatcher } from '../notifications/dispatcher';
import { registerWorker } from '../db/workers';
import { sandboxFromConfig } from '../sandbox';
import { createTemporalClient } from '../temporal/client';
import { scheduleDefinitions } from '../temporal/schedule-definitions';
import { syncSchedules } from '../temporal/schedules';
import { createWorker } from '../temporal/worker';

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
  const api = await listen({ config, orm, temporal, logger, metrics, rateLimitStore }, config.api.host, config.api.port);
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
  /** Resolves when the worker has stopped (after `shutdown`, or on a fatal error, which it rethrows). */
  done: Promise<void>;
  shutdown(): Promise<void>;
}

/** Creates the worker, syncs the schedules, starts the webhook dispatcher, and starts polling. */
export async function startWorker({ config, orm, logger, metrics }: Shared): Promise<RunningWorker> {
  const redis = config.redisUrl === undefined ? undefined : new Redis(config.redisUrl, { maxRetriesPerRequest: 2 });
  const llm = createLlmGateway({ config, orm, logger, metrics, redis });
  if (!llm.configured) logger.warn(notConfigured().message + ' — LLM steps will fail; everything else runs');
  const sandbox = await sandboxFromConfig(config, logger);
  const client = createTemporalClient(config.temporal);
  const activities = createActivities({ config, orm, logger: logger.child({ component: 'activities' }), metrics, llm, sandbox, temporal: client });
  const { worker, connection } = await createWorker({
    temporal: config.temporal,
    activities,
    shutdownGraceSeconds: config.worker.shutdownGraceSeconds,
  });
  try {
    await syncSchedules(client, scheduleDefinitions(config), {
      catchupWindowSeconds: config.intervals.scheduleCatchupWindow,
      logger: logger.child({ component: 'schedules' }),
    });
  } catch (err) {
    await client.connection.close();
    throw err;
  }
  // The webhook outbox runs in every worker (claims are idempotent across workers); it keeps the client.
  const webhooks = startWebhookDispatcher({ orm, client, config, logger, taskQueue: config.temporal.taskQueue });
  const registration = await registerWorker(orm, { identity: worker.options.identity, taskQueue: config.temporal.taskQueue, sandbox: { ...sandbox.info } });
  const done = worker.run().finally(async () => {
    await registration.stop();
    await webhooks.stop();
    await client.connection.close();
    await connection.close();
    redis?.disconnect();
  });
  logger.info(`worker polling task queue "${config.temporal.taskQueue}"; sandbox isolation: ${sandbox.isolation}`);
  return {
    done,
    shutdown: async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await done;
    },
  };
}
