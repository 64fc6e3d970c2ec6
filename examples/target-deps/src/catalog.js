'use strict';
// Lvl_UP example target (with dependencies): INTENTIONALLY FLAWED demo code (see README.md). Never deploy or copy it.

const { exec } = require('node:child_process');

/**
 * Builds the SQL that searches products by a user-typed term.
 * @param {string} term
 * @returns {string}
 */
function searchProductsQuery(term) {
  return "SELECT id, title, price FROM products WHERE title LIKE '%" + term + "%'";
}

/**
 * Archives a product's images by shelling out to `tar`.
 * @param {string} sku
 * @param {(err: Error | null) => void} callback
 */
function archiveImages(sku, callback) {
  exec('tar czf /tmp/' + sku + '.tgz images/' + sku, (err) => callback(err));
}

module.exports = { searchProductsQuery, archiveImages };
