'use strict';
// Lvl_UP example target (with dependencies): INTENTIONALLY FLAWED demo code (see README.md). Never deploy or copy it.

/**
 * The distinct values of a list, in first-seen order.
 * @param {unknown[]} values
 * @returns {unknown[]}
 */
function distinct(values) {
  const seen = [];
  for (const value of values) {
    if (!seen.includes(value)) seen.push(value);
  }
  return seen;
}

/**
 * Total price per currency of a list of orders.
 * @param {Array<{ price: number, currency: string }>} orders
 * @returns {Record<string, number>}
 */
function totals(orders) {
  const out = {};
  for (const currency of distinct(orders.map((o) => o.currency))) {
    out[currency] = orders.filter((o) => o.currency === currency).reduce((sum, o) => sum + o.price, 0);
  }
  return out;
}

module.exports = { distinct, totals };
