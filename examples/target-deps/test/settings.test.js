'use strict';

const assert = require('node:assert/strict');
const { loadSettings, DEFAULTS } = require('../src/settings');

describe('loadSettings', () => {
  it('uses the defaults without environment variables', () => {
    assert.deepEqual(loadSettings({}), { pageSize: 20, currency: 'EUR', githubToken: DEFAULTS.githubToken });
  });

  it('reads PAGE_SIZE and CURRENCY', () => {
    assert.deepEqual(loadSettings({ PAGE_SIZE: '50', CURRENCY: 'USD' }).pageSize, 50);
    assert.equal(loadSettings({ CURRENCY: 'USD' }).currency, 'USD');
  });

  it('ignores a PAGE_SIZE that is not a positive integer', () => {
    assert.equal(loadSettings({ PAGE_SIZE: '-3' }).pageSize, 20);
    assert.equal(loadSettings({ PAGE_SIZE: 'many' }).pageSize, 20);
  });
});
