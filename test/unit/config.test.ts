import { ConfigError, loadConfig } from '../../src/config';

describe('config', () => {
  it('applies the documented defaults', () => {
    const config = loadConfig({});
    expect(config.api.port).toBe(8000);
    expect(config.database.poolSize).toBe(20);
    expect(config.intervals.guardianScan).toBe(900);
    expect(config.cache.maxSize).toBe(1000);
    expect(Object.isFrozen(config.api)).toBe(true);
  });

  it('lists every invalid variable at once and never echoes secrets', () => {
    let error: unknown;
    try {
      loadConfig({ API_PORT: 'eighty', DATABASE_POOL_SIZE: '0', LOG_LEVEL: 'loud', ADMIN_API_KEY: 'short-secret' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual(['ADMIN_API_KEY', 'API_PORT', 'DATABASE_POOL_SIZE', 'LOG_LEVEL']);
    expect((error as ConfigError).message).not.toContain('short-secret');
    expect((error as ConfigError).message).toContain('got "eighty"');
  });
});
