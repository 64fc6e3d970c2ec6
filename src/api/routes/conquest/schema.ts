import { z } from 'zod';

export const performanceQuery = z.object({
  measure: z.string().min(1).max(200).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});
