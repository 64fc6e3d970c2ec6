import type { Middleware } from 'koa';
import { bodyParser } from '@koa/bodyparser';
import { HttpError } from '../errors';
import type { AppState } from '../types';

/** Content-Encodings a request body may use (what the body parser can decode). */
export const BODY_ENCODINGS = ['identity', 'gzip', 'deflate', 'br'] as const;

/**
 * Parses a JSON body (up to `limitBytes`, counted after decoding). Every failure of the parser is the client's input and
 * answers in the error shape: malformed JSON 400 `invalid_json`, too large 413, an encoding it cannot decode 415
 * `unsupported_encoding`, a body that does not decode as its Content-Encoding says (a corrupt gzip stream) 400
 * `invalid_body` — never a 500. Mounted behind the `/api` guard (authentication, rate limits), so nothing is read for a
 * caller not yet let in; the failure itself is answered after the route's role check.
 */
export function parseJsonBody(limitBytes: number): Middleware<AppState> {
  const parse = bodyParser({ enableTypes: ['json'], jsonLimit: limitBytes, encoding: 'utf-8' });
  return async (ctx, next) => {
    try {
      await parse(ctx, () => Promise.resolve());
    } catch (err) {
      // Held until the route's role check has passed (requireRole throws it), so a key below the route's role gets its
      // 403 whatever it sent; a handler that reads the body before that gets the error too.
      const error = bodyError(err, ctx.get('Content-Encoding'));
      ctx.state.bodyError = error;
      Object.defineProperty(ctx.request, 'body', {
        configurable: true,
        get: () => {
          throw error;
        },
      });
    }
    await next();
  };
}

function bodyError(err: unknown, encoding: string): unknown {
  const status = typeof err === 'object' && err !== null && 'status' in err ? err.status : undefined;
  if (status === 415 && err instanceof Error && err.message.startsWith('Unsupported Content-Encoding')) {
    return new HttpError(
      415,
      'unsupported_encoding',
      `unsupported Content-Encoding "${encoding.slice(0, 40)}"; use one of ${BODY_ENCODINGS.join(', ')}`,
    );
  }
  // Errors the parser classified (invalid JSON 400, too large 413, …): the error handler maps them.
  if (typeof status === 'number' && status >= 400 && status < 500) return err;
  // No status: the decoder failed on the bytes sent (zlib "incorrect header check", "unexpected end of file", …).
  return new HttpError(
    400,
    'invalid_body',
    `the request body could not be decoded${encoding ? ` as Content-Encoding "${encoding.slice(0, 40)}"` : ''}`,
  );
}
