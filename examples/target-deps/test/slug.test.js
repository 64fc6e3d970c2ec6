'use strict';

const assert = require('node:assert/strict');
const { slugify } = require('../src/slug');

describe('slugify', () => {
  it('lower-cases and joins words with dashes', () => {
    assert.equal(slugify('Hello, World!'), 'hello-world');
  });

  it('drops accents', () => {
    assert.equal(slugify('Crème Brûlée'), 'creme-brulee');
  });

  it('trims leading and trailing separators', () => {
    assert.equal(slugify('  --Lvl UP--  '), 'lvl-up');
  });
});
