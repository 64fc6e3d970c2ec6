'use strict';
// Lvl_UP example target (with dependencies): INTENTIONALLY FLAWED demo code (see README.md). Never deploy or copy it.

/**
 * Formats an amount in minor units (cents) as "12.34 EUR".
 * @param {number} cents
 * @param {string} currency
 * @returns {string}
 */
function formatMoney(cents, currency) {
  const sign = cents < 0 ? '-' : '';
  const abs = Math.abs(Math.round(cents));
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')} ${currency}`;
}

/**
 * Parses "12.34" into 1234 cents; NaN for anything else.
 * @param {string} text
 * @returns {number}
 */
function parseMoney(text) {
  const m = /^(-)?(\d+)(?:\.(\d{1,2}))?$/.exec(String(text).trim());
  if (!m) return Number.NaN;
  const cents = Number(m[2]) * 100 + Number((m[3] ?? '0').padEnd(2, '0'));
  return m[1] ? -cents : cents;
}

module.exports = { formatMoney, parseMoney };
