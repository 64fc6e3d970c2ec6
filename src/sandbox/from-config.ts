import type { Config } from '../config';
import type { Logger } from '../logger';
import { PRODUCT_ROOT } from './product-root';
import { createSandbox } from './runner';
import type { Sandbox } from './types';

/**
 * The worker's sandbox as the configuration describes it (SANDBOX_* limits, bwrap path, isolation required or not),
 * hiding DATA_DIR and the product's own directory from target code. The one way a worker — the real one or a test's —
 * builds it. Throws SandboxUnavailable when isolation is required and bwrap cannot run.
 */
export function sandboxFromConfig(config: Pick<Config, 'sandbox' | 'dataDir'>, logger: Logger): Promise<Sandbox> {
  const { sandbox } = config;
  return createSandbox({
    requireIsolation: sandbox.requireIsolation,
    logger,
    bwrapPath: sandbox.bwrapPath,
    limits: {
      memoryMb: sandbox.memoryMb,
      cpuSeconds: sandbox.cpuSeconds,
      maxProcesses: sandbox.maxProcesses,
      maxFileMb: sandbox.maxFileMb,
    },
    hiddenPaths: [config.dataDir, PRODUCT_ROOT],
  });
}
