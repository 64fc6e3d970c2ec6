'use strict';

const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
const { findUserQuery, listUsersQuery } = require('../src/users');

describe('findUserQuery', () => {
  it('selects the user by name', () => {
    assert.equal(findUserQuery('alice'), "SELECT id, name, email FROM users WHERE name = 'alice'");
  });

  it('selects only the public columns', () => {
    assert.match(findUserQuery('bob'), /^SELECT id, name, email FROM users /);
  });
});

describe('listUsersQuery', () => {
  it('defaults to 10 rows, newest first', () => {
    assert.equal(listUsersQuery(), 'SELECT id, name, email FROM users ORDER BY created_at DESC LIMIT 10');
  });

  it('caps the limit at 100', () => {
    assert.match(listUsersQuery(500), / LIMIT 100$/);
  });

  it('falls back to 10 for an invalid limit', () => {
    assert.match(listUsersQuery(-3), / LIMIT 10$/);
    assert.match(listUsersQuery(2.5), / LIMIT 10$/);
  });
});
