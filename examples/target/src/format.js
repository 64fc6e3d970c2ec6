'use strict';
// Lvl_UP example target: demo code (see README.md). Never deploy or copy it.

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/**
 * Formats a byte count with binary units: formatBytes(1536) === '1.5 KiB'.
 * @param {number} bytes a non-negative finite number
 * @param {number} [decimals=1]
 * @returns {string}
 */
function formatBytes(bytes, decimals = 1) {
  if (!Number.isFinite(bytes) || bytes < 0) throw new RangeError(`Invalid byte count: ${bytes}`);
  let value = bytes;
  let unit = 0;
  while (unit < UNITS.length - 1 && Number(value.toFixed(decimals)) >= 1024) {
    value /= 1024;
    unit++;
  }
  const text = unit === 0 ? String(value) : value.toFixed(decimals).replace(/\.0+$/, '');
  return `${text} ${UNITS[unit]}`;
}

/**
 * Formats a duration in milliseconds: formatDuration(90_500) === '1m 30.5s'.
 * @param {number} ms a non-negative finite number
 * @returns {string}
 */
function formatDuration(ms) {
  if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`Invalid duration: ${ms}`);
  if (Math.round(ms) < 1000) return `${Math.round(ms)}ms`;
  const tenths = Math.round(ms / 100);
  const minutes = Math.floor(tenths / 600);
  const seconds = (tenths - minutes * 600) / 10;
  return minutes === 0 ? `${seconds}s` : `${minutes}m ${seconds}s`;
}

/**
 * Shortens text to at most `max` characters, ending with an ellipsis when cut.
 * @param {string} text
 * @param {number} max at least 1
 * @returns {string}
 */
function truncate(text, max) {
  if (!Number.isInteger(max) || max < 1) throw new RangeError(`Invalid max: ${max}`);
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

module.exports = { formatBytes, formatDuration, truncate };
