import type { Redis } from 'ioredis';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Config } from '../config';
import type { QueueKind } from '../contracts';
import { createLlmGateway, type LlmGateway } from '../llm';
import { notConfigured } from '../llm/errors';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import { sandboxFromConfig, SandboxError, SANDBOX_ERROR_TYPES, type Sandbox } from '../sandbox';

/**
 * The LLM gateway and the sandbox a worker needs for the kinds it polls. The sandbox is built only for `sandbox` (a
 * worker that runs no target code starts on a host without bwrap, even where isolation is required); the gateway for
 * `llm` and `sandbox` (Sandbox's experiment asks its model for the test it then runs). A kind not polled gets a
 * stand-in that refuses, for activities that are not registered here anyway. Throws SandboxUnavailable when isolation
 * is required and bwrap cannot run.
 */
export async function workerDependencies(
  deps: { config: Config; orm: MikroORM; logger: Logger; metrics: Metrics; redis?: Redis },
  kinds: readonly QueueKind[],
): Promise<{ llm: LlmGateway; sandbox: Sandbox; hasSandbox: boolean }> {
  const llm = kinds.includes('llm') || kinds.includes('sandbox') ? createLlmGateway(deps) : absentLlm();
  const hasSandbox = kinds.includes('sandbox');
  const sandbox = hasSandbox ? await sandboxFromConfig(deps.config, deps.logger) : absentSandbox();
  return { llm, sandbox, hasSandbox };
}

const NOT_HERE = 'this worker does not poll the sandbox queue (WORKER_QUEUES): it has no sandbox';

function absentSandbox(): Sandbox {
  const refuse = (): never => {
    throw new SandboxError(SANDBOX_ERROR_TYPES.unavailable, NOT_HERE);
  };
  return {
    get isolation() {
      return refuse();
    },
    get info() {
      return refuse();
    },
    run: async () => refuse(),
  };
}

function absentLlm(): LlmGateway {
  return {
    configured: false,
    flush: async () => undefined,
    complete: async () => {
      throw notConfigured('this worker polls neither the llm nor the sandbox queue (WORKER_QUEUES): it calls no model');
    },
  };
}
