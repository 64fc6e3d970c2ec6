'use strict';
// Lvl_UP example target: INTENTIONALLY FLAWED demo code (see README.md). Never deploy or copy it.

/**
 * Counts the distinct values that occur more than once (compared with ===).
 * countDuplicates([1, 2, 2, 3, 3, 3]) === 2
 * @param {readonly unknown[]} values
 * @returns {number}
 */
function countDuplicates(values) {
  let count = 0;
  for (let i = 0; i < values.length; i++) {
    let seenBefore = false;
    for (let j = 0; j < i; j++) {
      if (values[j] === values[i]) {
        seenBefore = true;
        break;
      }
    }
    if (seenBefore) continue;
    for (let j = i + 1; j < values.length; j++) {
      if (values[j] === values[i]) {
        count++;
        break;
      }
    }
  }
  return count;
}

/**
 * Arithmetic mean; NaN for an empty array.
 * @param {readonly number[]} values
 */
function mean(values) {
  if (values.length === 0) return NaN;
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}

/**
 * Median (the mean of the two middle values for an even length); NaN for an empty array.
 * @param {readonly number[]} values
 */
function median(values) {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

module.exports = { countDuplicates, mean, median };
