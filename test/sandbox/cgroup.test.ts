import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rmdir, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createSandbox } from '../../src/sandbox';
import { cgroupSetup, logger } from './support';

describe('cgroups left behind', () => {
  it('are swept when their worker is dead, with their processes killed; those of live workers stay', async () => {
    const { base, tag } = await cgroupSetup();
    if (base === undefined) {
      // Nothing to sweep where no cgroup can be made; the sandbox says it has none.
      expect((await createSandbox({ requireIsolation: false, logger })).info.cgroup).toBe('none');
      return;
    }
    // Our own pid with another start time: the worker that made it is gone and its pid was reused.
    const stale = `lvlup-${process.pid}.1-0123456789ab`;
    const live = `lvlup-${tag}-ba9876543210`;
    const staleDirs = base.dirs.map((dir) => path.join(dir, stale));
    const liveDirs = base.dirs.map((dir) => path.join(dir, live));
    for (const dir of [...staleDirs, ...liveDirs]) await mkdir(dir);
    const orphan = spawn('sleep', ['60'], { stdio: 'ignore' });
    const exited = once(orphan, 'exit');
    try {
      for (const dir of staleDirs) await writeFile(path.join(dir, 'cgroup.procs'), String(orphan.pid));
      await createSandbox({ requireIsolation: false, logger });
      expect(await Promise.race([exited, sleep(5000).then(() => 'still running')])).toEqual([null, 'SIGKILL']);
      for (const dir of staleDirs) expect(existsSync(dir)).toBe(false);
      for (const dir of liveDirs) expect(existsSync(dir)).toBe(true);
    } finally {
      orphan.kill('SIGKILL');
      for (const dir of [...liveDirs, ...staleDirs]) await rmdir(dir).catch(() => undefined);
    }
  });
});
