import { z } from 'zod';
import { text } from '../../text';

export const scheduleIdParams = z.object({ id: text(100, { trim: false }).regex(/^[a-z0-9-]+$/, 'must be a schedule id') });

export const scheduleActionBody = z.object({ reason: text(500).optional() }).strict().default({});
