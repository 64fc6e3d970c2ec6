import type { z } from 'zod';

/** Parses request input with a zod schema; a ZodError propagates to the error handler, which answers 400. */
export function parse<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  return schema.parse(input);
}
