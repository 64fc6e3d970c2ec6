import type { Redis } from 'ioredis';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { LlmProvider } from '../domain/llm';
import type { Logger } from '../logger';

/** An answer worth keeping: what the provider said, already validated when a schema was asked for. */
export interface CachedAnswer {
  provider: LlmProvider;
  model: string;
  text: string;
  output: unknown;
  /** Epoch ms. */
  expiresAt: number;
}

/** The shared tier behind the per-process LRU: Redis when configured, else a PostgreSQL table. */
export interface SharedCache {
  get(key: string): Promise<CachedAnswer | undefined>;
  set(key: string, value: CachedAnswer): Promise<void>;
}

/** A bounded least-recently-used map with expiry (a Map keeps insertion order, so the first key is the oldest). */
export class LruCache<V extends { expiresAt: number }> {
  private readonly entries = new Map<string, V>();

  constructor(private readonly maxSize: number) {}

  get(key: string, now = Date.now()): V | undefined {
    const value = this.entries.get(key);
    if (value === undefined) return undefined;
    this.entries.delete(key);
    if (value.expiresAt <= now) return undefined;
    this.entries.set(key, value);
    return value;
  }

  set(key: string, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    while (this.entries.size > this.maxSize) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
  }

  get size(): number {
    return this.entries.size;
  }
}

export function redisSharedCache(redis: Redis, prefix = 'lvlup:llm-cache:'): SharedCache {
  return {
    async get(key) {
      const raw = await redis.get(prefix + key);
      return raw === null ? undefined : (JSON.parse(raw) as CachedAnswer);
    },
    async set(key, value) {
      const ttlMs = value.expiresAt - Date.now();
      if (ttlMs > 0) await redis.set(prefix + key, JSON.stringify(value), 'PX', ttlMs);
    },
  };
}

/** The PostgreSQL tier; expired rows are ignored on read and swept now and then on write. */
export function postgresSharedCache(orm: MikroORM, sweepEvery = 500): SharedCache {
  let writes = 0;
  return {
    async get(key) {
      const db = orm.em.getConnection();
      const rows = (await db.execute('select value from llm_cache_entries where key = ? and expires_at > now()', [
        key,
      ])) as Array<{
        value: CachedAnswer;
      }>;
      return rows[0]?.value;
    },
    async set(key, value) {
      const db = orm.em.getConnection();
      await db.execute(
        `insert into llm_cache_entries (key, value, expires_at) values (?, ?::jsonb, to_timestamp(? / 1000.0))
         on conflict (key) do update set value = excluded.value, expires_at = excluded.expires_at`,
        [key, JSON.stringify(value), value.expiresAt],
        'run',
      );
      if (++writes % sweepEvery === 0)
        await db.execute('delete from llm_cache_entries where expires_at < now()', [], 'run');
    },
  };
}

/**
 * Memory LRU in front of the shared tier. A shared-tier failure is logged and treated as a miss: the cache may
 * make calls cheaper, never make them fail.
 */
export class ResponseCache {
  private readonly memory: LruCache<CachedAnswer>;

  constructor(
    maxSize: number,
    private readonly shared: SharedCache | undefined,
    private readonly logger: Logger,
  ) {
    this.memory = new LruCache(maxSize);
  }

  async get(key: string): Promise<CachedAnswer | undefined> {
    const local = this.memory.get(key);
    if (local !== undefined || this.shared === undefined) return local;
    try {
      const remote = await this.shared.get(key);
      if (remote === undefined || remote.expiresAt <= Date.now()) return undefined;
      this.memory.set(key, remote);
      return remote;
    } catch (err) {
      this.logger.warn('LLM cache read failed; treating as a miss', { error: (err as Error).message });
      return undefined;
    }
  }

  async set(key: string, value: CachedAnswer): Promise<void> {
    this.memory.set(key, value);
    try {
      await this.shared?.set(key, value);
    } catch (err) {
      this.logger.warn('LLM cache write failed', { error: (err as Error).message });
    }
  }
}
