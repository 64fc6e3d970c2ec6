import { ApplicationFailure } from '@temporalio/activity';
import { isPermanentDataError, sqlState } from '../src/db/data-errors';

/** The failure type of a database data error: Temporal does not retry it, and the workflow records it. */
export const DATA_ERROR = 'DataError';

/**
 * Wraps every activity so a PostgreSQL data error (src/db/data-errors.ts) fails it for good as
 * `ApplicationFailure.nonRetryable(…, 'DataError')` instead of being retried as if it were transient; every other
 * error passes through unchanged (transient trouble stays a plain, retried Error).
 */
export function classifyDataErrors<T extends Record<string, unknown>>(activities: T): T {
  const wrapped: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(activities)) {
    wrapped[name] =
      typeof fn !== 'function'
        ? fn
        : async (...args: unknown[]) => {
            try {
              return await (fn as (...a: unknown[]) => Promise<unknown>)(...args);
            } catch (err) {
              if (!isPermanentDataError(err)) throw err;
              throw ApplicationFailure.nonRetryable(
                `${name}: data the database refuses (SQLSTATE ${sqlState(err)}): ${(err as Error).message}`,
                DATA_ERROR,
                { sqlState: sqlState(err) },
              );
            }
          };
  }
  return wrapped as T;
}
