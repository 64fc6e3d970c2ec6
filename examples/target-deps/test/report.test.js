'use strict';

const assert = require('node:assert/strict');
const { distinct, totals } = require('../src/report');

describe('report', () => {
  it('distinct keeps first-seen order', () => {
    assert.deepEqual(distinct([3, 1, 3, 2, 1]), [3, 1, 2]);
  });

  it('totals sums prices per currency', () => {
    const orders = [
      { price: 10, currency: 'EUR' },
      { price: 5, currency: 'USD' },
      { price: 2.5, currency: 'EUR' },
    ];
    assert.deepEqual(totals(orders), { EUR: 12.5, USD: 5 });
  });

  it('distinct handles a large list (the slow path)', () => {
    const values = Array.from({ length: 20_000 }, (_, i) => (i * 7919) % 15_000);
    assert.equal(distinct(values).length, 15_000);
  });
});
