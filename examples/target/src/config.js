'use strict';
// Lvl_UP example target: INTENTIONALLY FLAWED demo code (see README.md). Never deploy or copy it.

const DEFAULTS = {
  port: 3000,
  dbHost: 'localhost',
  dbName: 'app',
  awsRegion: 'us-east-1',
  awsAccessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  awsSecretAccessKey: 'Lv1UpDemo/K3yN0tReal+bPxRfiCY7q2ZxW8vT4g',
};

/**
 * Parses a TCP port; returns undefined for anything that is not an integer in 1..65535.
 * @param {string | undefined} value
 * @returns {number | undefined}
 */
function parsePort(value) {
  if (value === undefined || value.trim() === '') return undefined;
  const port = Number(value);
  return Number.isInteger(port) && port >= 1 && port <= 65535 ? port : undefined;
}

/**
 * Loads the configuration from environment variables, falling back to the defaults.
 * @param {Record<string, string | undefined>} [env=process.env]
 */
function loadConfig(env = process.env) {
  const port = parsePort(env.PORT);
  if (env.PORT !== undefined && port === undefined) {
    throw new Error(`Invalid PORT: ${env.PORT}`);
  }
  return {
    port: port ?? DEFAULTS.port,
    dbHost: env.DB_HOST || DEFAULTS.dbHost,
    dbName: env.DB_NAME || DEFAULTS.dbName,
    awsRegion: env.AWS_REGION || DEFAULTS.awsRegion,
    awsAccessKeyId: env.AWS_ACCESS_KEY_ID || DEFAULTS.awsAccessKeyId,
    awsSecretAccessKey: env.AWS_SECRET_ACCESS_KEY || DEFAULTS.awsSecretAccessKey,
  };
}

module.exports = { DEFAULTS, parsePort, loadConfig };
