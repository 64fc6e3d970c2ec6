import { budgetMonth } from './llm';

/**
 * Report weeks (ARCHITECTURE §3.7): Monday 00:00 to the next Monday 00:00, UTC, named by the Monday's date
 * `YYYY-MM-DD`. Pure, so the API, the activities and the tests agree on what "a week" is.
 */

const DAY_MS = 86_400_000;
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** A calendar date `YYYY-MM-DD` as UTC midnight; undefined when it is not one (`2026-02-30` included). */
export function parseIsoDate(text: string): Date | undefined {
  const m = ISO_DATE.exec(text);
  if (m === null) return undefined;
  const at = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return isoDate(at) === text ? at : undefined;
}

/** The UTC calendar date of `at`, `YYYY-MM-DD`. */
export function isoDate(at: Date): string {
  return at.toISOString().slice(0, 10);
}

/** Whether `text` is a date that starts a report week (a Monday). */
export function isWeekStart(text: string): boolean {
  return parseIsoDate(text)?.getUTCDay() === 1;
}

/** The Monday of the UTC week containing `at`. */
export function weekStartOf(at: Date): string {
  const midnight = Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate());
  const sinceMonday = (new Date(midnight).getUTCDay() + 6) % 7;
  return isoDate(new Date(midnight - sinceMonday * DAY_MS));
}

/** The last week that has fully ended at `now`: the one before the week containing `now`. */
export function lastEndedWeekStart(now: Date): string {
  return isoDate(new Date(Date.parse(weekStartOf(now)) - 7 * DAY_MS));
}

/** The week's window [from, to) in UTC; throws on a date that is not a Monday. */
export function weekBounds(weekStart: string): { from: Date; to: Date } {
  const from = parseIsoDate(weekStart);
  if (from === undefined || from.getUTCDay() !== 1)
    throw new RangeError(`"${weekStart}" is not a Monday as YYYY-MM-DD`);
  return { from, to: new Date(from.getTime() + 7 * DAY_MS) };
}

/** Whether the week is over at `now` (a report of a week still running would be a partial one). */
export function weekHasEnded(weekStart: string, now: Date): boolean {
  return weekBounds(weekStart).to.getTime() <= now.getTime();
}

/** The budget months (`YYYY-MM`) the week touches: one, or two when it straddles a month's end. */
export function budgetMonthsOfWeek(weekStart: string): string[] {
  const { from, to } = weekBounds(weekStart);
  const first = budgetMonth(from);
  const last = budgetMonth(new Date(to.getTime() - 1));
  return first === last ? [first] : [first, last];
}
