'use strict';

const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
const { countDuplicates, mean, median } = require('../src/stats');

describe('countDuplicates', () => {
  it('counts the distinct values that occur more than once', () => {
    assert.equal(countDuplicates([1, 2, 2, 3, 3, 3]), 2);
    assert.equal(countDuplicates(['a', 'b', 'a', 'c', 'b', 'a']), 2);
  });

  it('returns 0 without duplicates', () => {
    assert.equal(countDuplicates([]), 0);
    assert.equal(countDuplicates([7]), 0);
    assert.equal(countDuplicates([1, 2, 3, 4]), 0);
  });

  it('compares with ===', () => {
    assert.equal(countDuplicates([1, '1', 1]), 1);
    assert.equal(countDuplicates([{}, {}]), 0);
  });

  it('agrees with a counting reference on a larger input', () => {
    const values = Array.from({ length: 2000 }, (_, i) => (i * 7919) % 1500);
    const counts = new Map();
    for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
    const expected = [...counts.values()].filter((c) => c > 1).length;
    assert.equal(countDuplicates(values), expected);
  });
});

describe('mean', () => {
  it('averages the values', () => {
    assert.equal(mean([1, 2, 3, 4]), 2.5);
    assert.equal(mean([-5]), -5);
  });

  it('is NaN for an empty array', () => {
    assert.ok(Number.isNaN(mean([])));
  });
});

describe('median', () => {
  it('takes the middle value of an odd-length array', () => {
    assert.equal(median([5, 1, 3]), 3);
  });

  it('averages the two middle values of an even-length array', () => {
    assert.equal(median([4, 1, 3, 2]), 2.5);
  });

  it('does not mutate its input', () => {
    const values = [3, 1, 2];
    median(values);
    assert.deepEqual(values, [3, 1, 2]);
  });

  it('is NaN for an empty array', () => {
    assert.ok(Number.isNaN(median([])));
  });
});
