import { chmod, mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { resolveTemporalCli } from '../../src/temporal/cli';
import { createLogger } from '../../src/logger';

const logger = createLogger({ level: 'error', format: 'json' });

async function executable(dir: string, name: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, name);
  await writeFile(file, '#!/bin/sh\n');
  await chmod(file, 0o755);
  return file;
}

describe('Temporal CLI provisioning', () => {
  let tmp: string;
  beforeEach(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'lvlup-cli-'));
  });

  it('prefers TEMPORAL_CLI_PATH and rejects one that is not executable', async () => {
    const cli = await executable(tmp, 'my-temporal');
    await expect(resolveTemporalCli({ cliPath: cli, env: { PATH: '' }, logger })).resolves.toBe(cli);
    await expect(resolveTemporalCli({ cliPath: path.join(tmp, 'missing'), env: { PATH: '' }, logger })).rejects.toThrow(
      /not an executable/,
    );
  });

  it('uses `temporal` on PATH before the cache', async () => {
    const onPath = await executable(path.join(tmp, 'bin'), 'temporal');
    await executable(path.join(tmp, 'cache'), 'temporal');
    await expect(
      resolveTemporalCli({ cacheDir: path.join(tmp, 'cache'), env: { PATH: path.join(tmp, 'bin') }, logger }),
    ).resolves.toBe(onPath);
  });

  it('uses the cached build when nothing else is there', async () => {
    const cached = await executable(path.join(tmp, 'cache'), 'temporal');
    await expect(resolveTemporalCli({ cacheDir: path.join(tmp, 'cache'), env: { PATH: '' }, logger })).resolves.toBe(
      cached,
    );
  });
});
