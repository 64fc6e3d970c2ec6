import type { MikroORM } from '@mikro-orm/postgresql';
import type { Client } from '@temporalio/client';
import type { Config } from '../src/config';
import type { LlmGateway } from '../src/llm';
import type { Logger } from '../src/logger';
import type { Metrics } from '../src/metrics';
import type { Sandbox } from '../src/sandbox';

/** Everything activities may touch, built once by the worker and passed in (never reached globally). */
export interface ActivityDeps {
  config: Config;
  orm: MikroORM;
  logger: Logger;
  metrics: Metrics;
  llm: LlmGateway;
  sandbox: Sandbox;
  /** the reconciler asks Temporal how a workflow ended */
  temporal: Client;
}
