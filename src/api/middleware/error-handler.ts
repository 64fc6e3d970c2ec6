import type { Middleware } from 'koa';
import { DriverException, NotFoundError, UniqueConstraintViolationException } from '@mikro-orm/core';
import { ZodError } from 'zod';
import type { Logger } from '../../logger';
import { HttpError } from '../errors';
import type { AppState } from '../types';

interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}

/** Outermost middleware: maps every failure to `{"error": {code, message, details}}`; never leaks a stack trace. */
export function errorHandler(logger: Logger): Middleware<AppState> {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) throw new HttpError(404, 'not_found', 'no such route');
      // The routers answer a method a path does not serve with a bare 405, and one they serve nowhere (PROPFIND) with a
      // bare 501: both are the caller's mistake, so both are a 405 in the error shape, with the Allow header.
      if ((ctx.status === 405 || ctx.status === 501) && ctx.body == null)
        throw methodNotAllowed(ctx.method, ctx.response.get('Allow'));
    } catch (err) {
      const httpError = toHttpError(err);
      if (httpError.status >= 500) {
        logger.error('request failed', { requestId: ctx.state.requestId, path: ctx.path, err: describe(err) });
      }
      ctx.status = httpError.status;
      ctx.set(httpError.headers);
      const body: ErrorBody = { error: { code: httpError.code, message: httpError.message } };
      if (httpError.details !== undefined) body.error.details = httpError.details;
      ctx.body = body;
    }
  };
}

function methodNotAllowed(method: string, allow: string): HttpError {
  if (allow === '') return new HttpError(404, 'not_found', 'no such route');
  return new HttpError(
    405,
    'method_not_allowed',
    `${method.slice(0, 20)} is not allowed here; allowed: ${allow}`,
    undefined,
    { Allow: allow },
  );
}

/** Maps any thrown value to the HttpError it answers as; shared with the middleware that records the final status. */
export function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof ZodError) {
    const details = err.issues.map((i) => ({ field: i.path.join('.') || '(body)', message: i.message }));
    const first = details[0];
    return new HttpError(
      400,
      'invalid_request',
      first ? `${first.field}: ${first.message}` : 'invalid request',
      details,
    );
  }
  if (err instanceof NotFoundError) return new HttpError(404, 'not_found', 'not found');
  if (err instanceof UniqueConstraintViolationException) return new HttpError(409, 'conflict', 'already exists');
  if (isConnectionError(err))
    return new HttpError(503, 'service_unavailable', 'the database is unavailable', undefined, {
      'Retry-After': String(DATABASE_RETRY_AFTER_SECONDS),
    });
  const status = statusOf(err);
  if (status === 413) return new HttpError(413, 'payload_too_large', 'request body is too large');
  if (status === 400 && err instanceof SyntaxError)
    return new HttpError(400, 'invalid_json', 'request body is not valid JSON');
  if (status === 415) return new HttpError(415, 'unsupported_media_type', 'unsupported content type');
  if (status !== undefined && status >= 400 && status < 500) {
    // Body parser errors (malformed JSON and the like) carry an `expose`d status; their message is safe to show.
    const message = err instanceof Error && 'expose' in err && err.expose === true ? err.message : 'bad request';
    return new HttpError(status, 'bad_request', message);
  }
  return new HttpError(500, 'internal_error', 'internal server error');
}

function statusOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const value = 'status' in err ? err.status : 'statusCode' in err ? err.statusCode : undefined;
  return typeof value === 'number' ? value : undefined;
}

/** Seconds a client is told to wait (Retry-After) when the database cannot be used: the pool reconnects by then. */
const DATABASE_RETRY_AFTER_SECONDS = 2;

/**
 * Socket errors, SQLSTATE class 08 (connection exception), 57P01–57P03 (the server ended the connection: an
 * administrator's `pg_terminate_backend`, a restart, a crash, still starting) and 3D000 (no such database).
 */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'ETIMEDOUT',
  'EPIPE',
  '57P01',
  '57P02',
  '57P03',
  '3D000',
]);
/** node-postgres ends a query on a connection that died under it with this message and no code. */
const CONNECTION_ENDED = /Connection terminated( unexpectedly)?$|Client has encountered a connection error/;

/** Whether `err` means the database could not be used right now (a 503 to retry), not that the request was wrong. */
function isConnectionError(err: unknown): boolean {
  if (err instanceof DriverException && err.name === 'ConnectionException') return true;
  const code = typeof err === 'object' && err !== null && 'code' in err ? err.code : undefined;
  if (typeof code === 'string' && (CONNECTION_CODES.has(code) || code.startsWith('08'))) return true;
  return err instanceof Error && CONNECTION_ENDED.test(err.message);
}

function describe(err: unknown): Record<string, unknown> {
  return err instanceof Error ? { name: err.name, message: err.message, stack: err.stack } : { value: String(err) };
}
