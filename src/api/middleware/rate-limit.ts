import type { Middleware } from 'koa';
import type { Redis } from 'ioredis';
import { tooManyRequests } from '../errors';
import type { AppState } from '../types';

/** Counts hits per key in fixed windows. */
export interface RateLimitStore {
  /** Records one hit; returns the count in the current window and the ms until it resets. */
  hit(key: string, windowMs: number): Promise<{ count: number; resetMs: number }>;
}

/** Per-process store, for a single API instance or tests. Old windows are swept as they expire. */
export function memoryRateLimitStore(): RateLimitStore {
  const windows = new Map<string, { count: number; resetAt: number }>();
  let nextSweep = 0;
  return {
    async hit(key, windowMs) {
      const now = Date.now();
      if (now >= nextSweep) {
        for (const [k, w] of windows) if (w.resetAt <= now) windows.delete(k);
        nextSweep = now + windowMs;
      }
      let window = windows.get(key);
      if (window === undefined || window.resetAt <= now) {
        window = { count: 0, resetAt: now + windowMs };
        windows.set(key, window);
      }
      window.count += 1;
      return { count: window.count, resetMs: window.resetAt - now };
    },
  };
}

const HIT_SCRIPT = `
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {count, redis.call('PTTL', KEYS[1])}`;

/** Store shared by every API process through Redis (REDIS_URL); one atomic script per hit. */
export function redisRateLimitStore(redis: Redis, prefix = 'lvlup:ratelimit:'): RateLimitStore {
  return {
    async hit(key, windowMs) {
      const [count, ttl] = (await redis.eval(HIT_SCRIPT, 1, prefix + key, String(windowMs))) as [number, number];
      return { count, resetMs: ttl > 0 ? ttl : windowMs };
    },
  };
}

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
