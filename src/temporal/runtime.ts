import { DefaultLogger, Runtime, type LogEntry, type LogLevel } from '@temporalio/worker';
import type { Logger } from '../logger';

const LEVELS: Record<LogLevel, string> = { TRACE: 'silly', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' };

/**
 * The SDK's routine start and stop chatter, logged at debug instead: each kind's worker changing state (RUNNING,
 * DRAINING… — a FAILED one still logs at its level; the process logs "worker polling …" itself), no Nexus services
 * (Lvl_UP has none), and no workflows on the `-llm` and `-sandbox` workers (activity-only by design).
 */
export function sdkLevel(entry: Pick<LogEntry, 'level' | 'message' | 'meta'>): string {
  const routine =
    (entry.message === 'Worker state changed' && entry.meta?.state !== 'FAILED') ||
    entry.message.startsWith('No Nexus services registered') ||
    entry.message.startsWith('No workflows registered, not polling for workflow tasks');
  return routine ? 'debug' : LEVELS[entry.level];
}

/**
 * Installs the process-wide Temporal runtime once: SDK and core logs go to winston (at debug and trace too when
 * LOG_LEVEL asks for them), and worker metrics are served for Prometheus at `metricsAddress` (host:port, path
 * /metrics) when given.
 */
export function installTemporalRuntime(logger: Logger, metricsAddress: string | undefined): void {
  const sdkLogger = logger.child({ component: 'temporal' });
  const level: LogLevel = logger.level === 'silly' ? 'TRACE' : logger.level === 'debug' ? 'DEBUG' : 'INFO';
  Runtime.install({
    // The entry points own signal handling so they can stop the API, the worker and the ORM in order.
    shutdownSignals: [],
    logger: new DefaultLogger(level, (entry) => {
      sdkLogger.log(sdkLevel(entry), entry.message, entry.meta ?? {});
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
