'use strict';

const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
const { DEFAULTS, loadConfig, parsePort } = require('../src/config');

describe('parsePort', () => {
  it('accepts ports in 1..65535', () => {
    assert.equal(parsePort('8080'), 8080);
    assert.equal(parsePort('1'), 1);
    assert.equal(parsePort('65535'), 65535);
  });

  it('rejects anything else', () => {
    for (const value of [undefined, '', ' ', '0', '65536', '80.5', 'http', '-1']) {
      assert.equal(parsePort(value), undefined, `parsePort(${JSON.stringify(value)})`);
    }
  });
});

describe('loadConfig', () => {
  it('uses the defaults for an empty environment', () => {
    const config = loadConfig({});
    assert.equal(config.port, DEFAULTS.port);
    assert.equal(config.dbHost, 'localhost');
    assert.equal(config.dbName, 'app');
    assert.equal(config.awsRegion, 'us-east-1');
  });

  it('reads the environment', () => {
    const config = loadConfig({ PORT: '4000', DB_HOST: 'db.internal', DB_NAME: 'prod', AWS_REGION: 'eu-west-1' });
    assert.equal(config.port, 4000);
    assert.equal(config.dbHost, 'db.internal');
    assert.equal(config.dbName, 'prod');
    assert.equal(config.awsRegion, 'eu-west-1');
  });

  it('prefers credentials from the environment', () => {
    const config = loadConfig({ AWS_ACCESS_KEY_ID: 'id-from-env', AWS_SECRET_ACCESS_KEY: 'secret-from-env' });
    assert.equal(config.awsAccessKeyId, 'id-from-env');
    assert.equal(config.awsSecretAccessKey, 'secret-from-env');
  });

  it('rejects an invalid PORT', () => {
    assert.throws(() => loadConfig({ PORT: 'eighty' }), /Invalid PORT: eighty/);
  });
});
