import { randomUUID } from 'node:crypto';
import type { Middleware } from 'koa';
import type { Logger } from '../../logger';
import type { AppState } from '../types';
import { toHttpError } from './error-handler';

const SAFE_REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** Gives every request an id (a caller's X-Request-Id when it is sane) and writes one access-log line when it ends. */
export function requestContext(logger: Logger): Middleware<AppState> {
  return async (ctx, next) => {
    const incoming = ctx.get('X-Request-Id');
    ctx.state.requestId = SAFE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
    ctx.set('X-Request-Id', ctx.state.requestId);
    const started = process.hrtime.bigint();
    let status = 500;
    try {
      await next();
      status = ctx.status;
    } catch (err) {
      status = toHttpError(err).status;
      throw err;
    } finally {
      // Checked first: winston formats a line (timestamp, JSON) before its transports drop it for its level.
      if (logger.isInfoEnabled()) logRequest(logger, ctx, status, started);
    }
  };
}

function logRequest(logger: Logger, ctx: Parameters<Middleware<AppState>>[0], status: number, started: bigint): void {
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  logger.info('request', {
    requestId: ctx.state.requestId,
    method: ctx.method,
    path: ctx.path,
    status,
    ms: Math.round(ms * 10) / 10,
    key: ctx.state.auth?.name,
  });
}
