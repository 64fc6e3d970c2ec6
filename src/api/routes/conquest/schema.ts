import { z } from 'zod';
import { text } from '../../text';

export const performanceQuery = z.object({
  measure: text(200, { trim: false }).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});
