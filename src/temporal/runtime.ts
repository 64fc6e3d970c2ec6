import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';
import type { Logger } from '../logger';

const LEVELS: Record<LogLevel, string> = { TRACE: 'silly', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' };

/**
 * Installs the process-wide Temporal runtime once: SDK and core logs go to winston, and worker metrics are served for
 * Prometheus at `metricsAddress` (host:port, path /metrics) when given.
 */
export function installTemporalRuntime(logger: Logger, metricsAddress: string | undefined): void {
  const sdkLogger = logger.child({ component: 'temporal' });
  Runtime.install({
    // The entry points own signal handling so they can stop the API, the worker and the ORM in order.
    shutdownSignals: [],
    logger: new DefaultLogger('INFO', (entry) => {
      sdkLogger.log(LEVELS[entry.level], entry.message, entry.meta ?? {});
    }),
    telemetryOptions: {
      logging: { forward: {}, filter: { core: 'WARN', other: 'WARN' } },
      metrics:
        metricsAddress === undefined
          ? undefined
          : { prometheus: { bindAddress: metricsAddress, countersTotalSuffix: true, useSecondsForDurations: true } },
    },
  });
}
