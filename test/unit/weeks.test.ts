import {
  budgetMonthsOfWeek,
  isWeekStart,
  lastEndedWeekStart,
  parseIsoDate,
  weekBounds,
  weekHasEnded,
  weekStartOf,
} from '../../src/domain/weeks';

it('parses real calendar dates only', () => {
  expect(parseIsoDate('2026-11-16')?.toISOString()).toBe('2026-11-16T00:00:00.000Z');
  expect(parseIsoDate('2026-02-30')).toBeUndefined();
  expect(parseIsoDate('2026-11-16T00:00:00Z')).toBeUndefined();
  expect(parseIsoDate('16/11/2026')).toBeUndefined();
});

it('knows a week starts on a Monday', () => {
  expect(isWeekStart('2026-11-16')).toBe(true);
  expect(isWeekStart('2026-11-17')).toBe(false);
  expect(isWeekStart('2026-11-15')).toBe(false);
  expect(isWeekStart('not a date')).toBe(false);
});

it('finds the Monday of any moment’s UTC week', () => {
  expect(weekStartOf(new Date('2026-11-16T00:00:00Z'))).toBe('2026-11-16');
  expect(weekStartOf(new Date('2026-11-22T23:59:59.999Z'))).toBe('2026-11-16');
  expect(weekStartOf(new Date('2026-11-23T09:00:00Z'))).toBe('2026-11-23');
  expect(weekStartOf(new Date('2026-01-01T12:00:00Z'))).toBe('2025-12-29');
});

it('takes the week that has just ended as the default report week', () => {
  expect(lastEndedWeekStart(new Date('2026-11-23T09:00:00Z'))).toBe('2026-11-16');
  expect(lastEndedWeekStart(new Date('2026-11-22T23:59:59Z'))).toBe('2026-11-09');
});

it('bounds a week as [Monday, next Monday) in UTC and refuses other days', () => {
  expect(weekBounds('2025-12-29')).toEqual({
    from: new Date('2025-12-29T00:00:00Z'),
    to: new Date('2026-01-05T00:00:00Z'),
  });
  expect(() => weekBounds('2025-12-30')).toThrow(RangeError);
});

it('says whether a week is over', () => {
  expect(weekHasEnded('2026-11-16', new Date('2026-11-23T00:00:00Z'))).toBe(true);
  expect(weekHasEnded('2026-11-16', new Date('2026-11-22T23:59:59Z'))).toBe(false);
  expect(weekHasEnded('2026-11-30', new Date('2026-11-23T09:00:00Z'))).toBe(false);
});

it('names the budget months a week touches', () => {
  expect(budgetMonthsOfWeek('2026-11-16')).toEqual(['2026-11']);
  expect(budgetMonthsOfWeek('2025-12-29')).toEqual(['2025-12', '2026-01']);
  expect(budgetMonthsOfWeek('2026-11-30')).toEqual(['2026-11', '2026-12']);
});
