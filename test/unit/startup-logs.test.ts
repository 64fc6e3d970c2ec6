import { Writable } from 'node:stream';
import winston from 'winston';
import { sdkLevel } from '../../src/temporal/runtime';
import { bundlerLogger } from '../../src/temporal/worker';

/** A winston logger at `level` whose lines land in `lines` as `level message`. */
function capture(level: string): { logger: winston.Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString().trim());
      done();
    },
  });
  const logger = winston.createLogger({
    level,
    format: winston.format.printf(({ level: l, message }) => `${l} ${String(message)}`),
    transports: [new winston.transports.Stream({ stream })],
  });
  return { logger, lines };
}

describe("the workflow bundler's output (npm run dev, test workers)", () => {
  it('shows the webpack summary only at LOG_LEVEL=debug; warnings and errors at any level', () => {
    for (const level of ['info', 'debug']) {
      const { logger, lines } = capture(level);
      const bundler = bundlerLogger(logger);
      bundler.info('asset workflow-bundle.js 2.91 MiB [emitted]\nwebpack compiled successfully');
      bundler.info('Workflow bundle created', { size: '2.91MB' });
      bundler.warn('a module the bundle ignores');
      bundler.error('webpack compiled with 1 error');
      const expected = ['warn a module the bundle ignores', 'error webpack compiled with 1 error'];
      if (level === 'debug')
        expected.unshift(
          'debug asset workflow-bundle.js 2.91 MiB [emitted]\nwebpack compiled successfully',
          'debug Workflow bundle created',
        );
      expect(lines).toEqual(expected);
    }
  });
});

describe("the Temporal SDK's start and stop chatter", () => {
  it('goes to debug; a failed worker and every other message keep their level', () => {
    expect(sdkLevel({ level: 'INFO', message: 'Worker state changed', meta: { state: 'RUNNING' } })).toBe('debug');
    expect(sdkLevel({ level: 'INFO', message: 'Worker state changed', meta: { state: 'DRAINING' } })).toBe('debug');
    expect(sdkLevel({ level: 'INFO', message: 'Worker state changed', meta: { state: 'FAILED' } })).toBe('info');
    expect(sdkLevel({ level: 'INFO', message: 'No Nexus services registered, not polling for Nexus tasks' })).toBe(
      'debug',
    );
    expect(sdkLevel({ level: 'WARN', message: 'No workflows registered, not polling for workflow tasks' })).toBe(
      'debug',
    );
    expect(sdkLevel({ level: 'WARN', message: 'Activity heartbeat timed out' })).toBe('warn');
    expect(sdkLevel({ level: 'ERROR', message: 'Worker failed' })).toBe('error');
    expect(sdkLevel({ level: 'TRACE', message: 'poll' })).toBe('silly');
  });
});
