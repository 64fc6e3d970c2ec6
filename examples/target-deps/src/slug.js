'use strict';
// Lvl_UP example target (with dependencies): INTENTIONALLY FLAWED demo code (see README.md). Never deploy or copy it.

/**
 * Lower-case, ASCII, dash-separated form of a title: "Hello, World!" → "hello-world".
 * @param {string} title
 * @returns {string}
 */
function slugify(title) {
  return String(title)
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

module.exports = { slugify };
