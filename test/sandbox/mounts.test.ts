import { runMounts, type SystemView } from '../../src/sandbox/mounts';

const view: SystemView = {
  args: ['--ro-bind', '/usr', '/usr', '--symlink', 'usr/bin', '/bin'],
  roots: ['/usr'],
  files: [],
};

describe('runMounts', () => {
  it('hides a directory inside something bound, and mounts what lies inside it after its tmpfs', () => {
    const args = runMounts(view, {
      cwd: '/srv/lvlup/.data/worktrees/run-b',
      readOnly: ['/srv'],
      writable: [],
      hidden: ['/srv/lvlup/.data', '/srv/lvlup', '/home'],
    });
    expect(args.slice(0, view.args.length)).toEqual(view.args);
    expect(args.slice(view.args.length)).toEqual([
      '--ro-bind',
      '/srv',
      '/srv',
      '--tmpfs',
      '/srv/lvlup',
      '--tmpfs',
      '/srv/lvlup/.data',
      '--bind',
      '/srv/lvlup/.data/worktrees/run-b',
      '/srv/lvlup/.data/worktrees/run-b',
    ]);
  });

  it('hides nothing that is not inside a bound directory, nor a directory that is itself bound', () => {
    const args = runMounts(view, {
      cwd: '/data/run',
      readOnly: ['/data/cache'],
      writable: ['/home/u/.npm'],
      hidden: ['/data', '/home/u/.npm', '/root'],
    });
    expect(args).not.toContain('--tmpfs');
  });

  it('hides a product installed inside a system directory', () => {
    const args = runMounts(view, { cwd: '/tmp/run', readOnly: [], writable: [], hidden: ['/usr/local/lib/lvlup'] });
    expect(args.join(' ')).toContain('--tmpfs /usr/local/lib/lvlup');
  });
});
