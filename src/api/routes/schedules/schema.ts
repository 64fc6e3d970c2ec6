import { z } from 'zod';

export const scheduleIdParams = z.object({ id: z.string().min(1).max(100).regex(/^[a-z0-9-]+$/, 'must be a schedule id') });

export const scheduleActionBody = z.object({ reason: z.string().trim().min(1).max(500).optional() }).strict().default({});
