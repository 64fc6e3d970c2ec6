import { z } from 'zod';

/** `?limit=&offset=` for every list route: limit 1–100 (default 50). */
export const paginationQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(50),
  offset: z.coerce.number().int().min(0).default(0),
});
export type Pagination = z.infer<typeof paginationQuery>;

/** The one list envelope. */
export function page<T>(items: T[], total: number, { limit, offset }: Pagination) {
  return { items, page: { limit, offset, total } };
}
