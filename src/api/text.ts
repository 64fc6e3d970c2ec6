import { z } from 'zod';

const NUL = '\u0000';

/**
 * The one schema for text a request carries into the database or a workflow: PostgreSQL cannot store a NUL
 * character in text, so a NUL is refused here, at the edge, as a 400 naming the field — never accepted and then lost
 * downstream. Free text is trimmed and must not be empty; `{ trim: false }` keeps it as sent (identifiers, filters).
 */
export function text(max: number, { trim = true, min = 1 }: { trim?: boolean; min?: number } = {}) {
  const base = trim ? z.string().trim() : z.string();
  return base
    .min(min)
    .max(max)
    .refine((s) => !s.includes(NUL), 'must not contain a NUL character');
}
