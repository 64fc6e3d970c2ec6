import type { Middleware } from 'koa';
import type { RateLimitStore } from '../../rate-limit-store';
import { tooManyRequests } from '../errors';
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
