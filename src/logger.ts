import winston from 'winston';
import type { Config } from './config';

export type Logger = winston.Logger;

/** Builds the process logger; components take `logger.child({ component })` so every line says where it came from. */
export function createLogger(log: Config['log']): Logger {
  const format =
    log.format === 'json'
      ? winston.format.combine(
          winston.format.timestamp(),
          winston.format.errors({ stack: true }),
          winston.format.json(),
        )
      : winston.format.combine(
          winston.format.timestamp({ format: 'HH:mm:ss.SSS' }),
          winston.format.errors({ stack: true }),
          winston.format.colorize(),
          winston.format.printf(({ timestamp, level, message, component, ...rest }) => {
            const extra = Object.keys(rest).length > 0 ? ` ${JSON.stringify(rest)}` : '';
            return `${String(timestamp)} ${level} [${String(component ?? 'app')}] ${String(message)}${extra}`;
          }),
        );
  // winston has no `trace`; it maps onto `silly`, the most verbose level it knows.
  const level = log.level === 'trace' ? 'silly' : log.level;
  return winston.createLogger({ level, format, transports: [new winston.transports.Console()] });
}
