'use strict';
// Lvl_UP example target: INTENTIONALLY FLAWED demo code (see README.md). Never deploy or copy it.

const { exec } = require('node:child_process');

/**
 * Builds the SQL that looks a user up by name.
 * @param {string} name
 * @returns {string}
 */
function findUserQuery(name) {
  return "SELECT id, name, email FROM users WHERE name = '" + name + "'";
}

/**
 * Builds the SQL that lists users, newest first.
 * @param {number} [limit=10]
 * @returns {string}
 */
function listUsersQuery(limit = 10) {
  const n = Number.isInteger(limit) && limit > 0 ? Math.min(limit, 100) : 10;
  return `SELECT id, name, email FROM users ORDER BY created_at DESC LIMIT ${n}`;
}

/**
 * Reports the disk usage of a user's home directory by shelling out to `du`.
 * @param {string} username
 * @param {(err: Error | null, usage?: string) => void} callback
 */
function homeDirUsage(username, callback) {
  exec('du -sh /home/' + username, (err, stdout) => {
    if (err) return callback(err);
    callback(null, stdout.split('\t')[0]);
  });
}

module.exports = { findUserQuery, listUsersQuery, homeDirUsage };
