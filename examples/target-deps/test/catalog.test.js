'use strict';

const assert = require('node:assert/strict');
const { searchProductsQuery } = require('../src/catalog');

describe('searchProductsQuery', () => {
  it('searches titles containing the term', () => {
    assert.equal(searchProductsQuery('lamp'), "SELECT id, title, price FROM products WHERE title LIKE '%lamp%'");
  });

  it('selects id, title and price', () => {
    assert.match(searchProductsQuery('x'), /^SELECT id, title, price FROM products /);
  });
});
