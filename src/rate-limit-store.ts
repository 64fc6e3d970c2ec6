import type { Redis } from 'ioredis';

/** Fixed-window counters shared by the API's per-key limit and the LLM gateway's per-provider limits. */

/** Counts hits (or weighted amounts, such as tokens) per key in fixed windows. */
export interface RateLimitStore {
  /** Adds `amount` (default 1); returns the total in the current window and the ms until it resets. */
  hit(key: string, windowMs: number, amount?: number): Promise<{ count: number; resetMs: number }>;
}

/** Per-process store, for a single API instance or tests. Old windows are swept as they expire. */
export function memoryRateLimitStore(): RateLimitStore {
  const windows = new Map<string, { count: number; resetAt: number }>();
  let nextSweep = 0;
  return {
    async hit(key, windowMs, amount = 1) {
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
      window.count += amount;
      return { count: window.count, resetMs: window.resetAt - now };
    },
  };
}

const HIT_SCRIPT = `
local count = redis.call('INCRBY', KEYS[1], ARGV[2])
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {count, redis.call('PTTL', KEYS[1])}`;

/** Store shared by every process through Redis (REDIS_URL); one atomic script per hit. */
export function redisRateLimitStore(redis: Redis, prefix = 'lvlup:ratelimit:'): RateLimitStore {
  return {
    async hit(key, windowMs, amount = 1) {
      const [count, ttl] = (await redis.eval(HIT_SCRIPT, 1, prefix + key, String(windowMs), String(amount))) as [
        number,
        number,
      ];
      return { count, resetMs: ttl > 0 ? ttl : windowMs };
    },
  };
}
