import type { Middleware } from 'koa';
import type { RateLimitStore } from '../../rate-limit-store';
import { HttpError, tooManyRequests } from '../errors';
import type { AppState } from '../types';

/** Limits each API key to `max` requests per window; answers 429 with Retry-After beyond it. */
export function rateLimit(store: RateLimitStore, opts: { max: number; windowMs: number }): Middleware<AppState> {
  return async (ctx, next) => {
    const subject = ctx.state.auth?.keyId ?? `ip:${ctx.ip}`;
    const { count, resetMs } = await store.hit(subject, opts.windowMs);
    ctx.set('RateLimit-Limit', String(opts.max));
    ctx.set('RateLimit-Remaining', String(Math.max(0, opts.max - count)));
    ctx.set('RateLimit-Reset', String(Math.ceil(resetMs / 1000)));
    if (count > opts.max) throw tooManyRequests(Math.max(1, Math.ceil(resetMs / 1000)));
    await next();
  };
}

/**
 * Wraps `authenticate`: counts each failed authentication (401) per client IP and, once an IP has `max` failures in
 * the current window, refuses everything from it (429 with Retry-After) until the window ends — before any key lookup,
 * so guessing keys costs neither a database query nor a chance. Counted in the shared store (Redis when configured), so
 * the limit holds across API processes. `max` 0 turns it off.
 */
export function limitAuthFailures(
  store: RateLimitStore,
  opts: { max: number; windowMs: number },
  authenticate: Middleware<AppState>,
): Middleware<AppState> {
  if (opts.max === 0) return authenticate;
  return async (ctx, next) => {
    const subject = `authfail:${ctx.ip}`;
    const { count, resetMs } = await store.hit(subject, opts.windowMs, 0);
    if (count >= opts.max) throw tooManyRequests(Math.max(1, Math.ceil(resetMs / 1000)));
    let authenticated = false;
    try {
      await authenticate(ctx, () => {
        authenticated = true;
        return next();
      });
    } catch (err) {
      if (!authenticated && err instanceof HttpError && err.status === 401) await store.hit(subject, opts.windowMs);
      throw err;
    }
  };
}
