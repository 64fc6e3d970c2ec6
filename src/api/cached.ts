import type { Context } from 'koa';
import type { TableCache } from '../db/table-cache';

/**
 * Answers `ctx` with `load()`'s JSON, from `cache` while none of `tables` changed (kept serialized: the answer is
 * written as it was the first time), or straight from `load` without a cache. A `load` that throws (a 404) is not kept.
 */
export async function answerCached(
  ctx: Context,
  cache: TableCache | undefined,
  key: string,
  tables: readonly string[],
  load: () => Promise<unknown>,
): Promise<void> {
  if (cache === undefined) {
    ctx.body = await load();
    return;
  }
  const body = await cache.read(key, tables, async () => Buffer.from(JSON.stringify(await load())));
  ctx.type = 'application/json';
  ctx.body = body;
}
