import { z } from 'zod';

/**
 * Building blocks of the response schemas (each route's `schema.ts` declares its own next to its inputs; its presenter
 * returns `z.infer` of it, and the OpenAPI document and its test read the same schema).
 */

/** An instant as `Date#toISOString()` writes it. */
export const timestamp = z.iso.datetime();
export const nullableTimestamp = timestamp.nullable();

/** Where a page is in its list. */
const pageInfo = z
  .object({
    limit: z.number().int(),
    offset: z.number().int(),
    total: z.number().int().describe('items matching, over every page'),
  })
  .meta({ id: 'PageInfo' });

/** The one list envelope (`page()` in pagination.ts) around items of `item`. */
export function pageOf<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item), page: pageInfo });
}

/** JSON stored as the workflows wrote it (reports, summaries, details): an object whose fields depend on its kind. */
export const jsonObject = z.record(z.string(), z.unknown());
