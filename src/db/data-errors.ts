/**
 * SQLSTATE class 22 (data exception: a NUL or an invalid byte in text, a value out of range, a bad date…) and
 * 08P01 (protocol violation, what a NUL in a bound parameter can surface as) mean the data itself cannot be stored:
 * sending it again fails the same way. The one place that decides which database errors are permanent.
 */
export function isPermanentDataError(err: unknown): boolean {
  const code = sqlState(err);
  return code !== undefined && (code.startsWith('22') || code === '08P01');
}

/** The SQLSTATE of a pg / MikroORM driver error (copied onto the wrapper as `code`), if it carries one. */
export function sqlState(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const code = (err as { code?: unknown; sqlState?: unknown }).code ?? (err as { sqlState?: unknown }).sqlState;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}
