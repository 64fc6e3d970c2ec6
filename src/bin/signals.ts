import type { Logger } from '../logger';

/** Resolves on the first SIGINT or SIGTERM; a second one exits at once, for when a clean stop hangs. */
export function onShutdownSignal(logger: Logger): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const handler = (signal: NodeJS.Signals) => {
      logger.info(`${signal} received, shutting down (send it again to exit at once)`);
      process.removeListener('SIGINT', handler);
      process.removeListener('SIGTERM', handler);
      process.once('SIGINT', () => process.exit(130));
      process.once('SIGTERM', () => process.exit(143));
      resolve(signal);
    };
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
  });
}
