import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

export const ROOT = path.resolve(__dirname, '../..');
const DIST = path.join(ROOT, 'dist');

/** What `tsc -p tsconfig.build.json` and the workflow bundle are made from. */
const INPUT_DIRS = ['src', 'workflows', 'activities', 'migrations'];
const INPUT_FILES = ['tsconfig.json', 'tsconfig.build.json', 'package.json', 'package-lock.json'];
/** What the processes run: their compiled code and the pre-built workflow bundle. */
const OUTPUT_DIRS = INPUT_DIRS.map((d) => path.join('dist', d));
const OUTPUT_FILES = ['dist/workflow-bundle.js'];
/** Written last by {@link ensureDist}: the hashes of the inputs a build was made from and of the outputs it made. */
const STAMP = path.join(DIST, '.processes-test-build.json');

export const ENTRY = {
  api: 'dist/src/bin/api.js',
  worker: 'dist/src/bin/worker.js',
  migrate: 'dist/src/bin/migrate.js',
} as const;

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(path.join(ROOT, dir), { withFileTypes: true }).catch(() => []);
  const out: string[] = [];
  for (const e of entries) {
    const rel = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(rel)));
    else if (e.isFile()) out.push(rel);
  }
  return out;
}

/** One hash over the paths and contents of `dirs` (recursively) and `files`: a missing file hashes as missing. */
async function hashOf(dirs: string[], files: string[]): Promise<string> {
  const all = [...(await Promise.all(dirs.map(filesUnder))).flat(), ...files].sort();
  const hash = createHash('sha256');
  for (const rel of all) {
    const content = await readFile(path.join(ROOT, rel)).catch(() => null);
    hash.update(`${rel}\0${content === null ? 'missing' : createHash('sha256').update(content).digest('hex')}\0`);
  }
  return hash.digest('hex');
}

const run = promisify(execFile);

async function step(what: string, args: string[]): Promise<void> {
  try {
    await run(args[0] === 'npm' ? 'npm' : process.execPath, args[0] === 'npm' ? args.slice(1) : args, {
      cwd: ROOT,
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${what} failed: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
  }
}

/**
 * Makes dist/ hold what `npm run start:api` / `start:worker` / migrate run, built from the sources as they are now:
 * `tsc -p tsconfig.build.json` and the workflow bundle (`npm run build`, whose console part — built here only when
 * missing — the browser test rebuilds on its own). A previous build is reused only when its stamp proves it current: the inputs hash as they did
 * when it was made, and its outputs as they were written (nothing rebuilt or edited them since). Answers whether it built.
 */
export async function ensureDist(): Promise<{ built: boolean; ms: number }> {
  const started = Date.now();
  // The console the API serves at /: built when missing, as `npm run dev` does (its currency is the browser test's).
  if (!existsSync(path.join(DIST, 'web', 'index.html')))
    await step('the console (npm run build:web)', ['npm', 'run', '-s', 'build:web']);
  const inputs = await hashOf(INPUT_DIRS, INPUT_FILES);
  const stamp = await readFile(STAMP, 'utf8').then(
    (t) => JSON.parse(t) as { inputs?: string; outputs?: string },
    () => undefined,
  );
  if (
    stamp?.inputs === inputs &&
    Object.values(ENTRY).every((f) => existsSync(path.join(ROOT, f))) &&
    stamp.outputs === (await hashOf(OUTPUT_DIRS, OUTPUT_FILES))
  ) {
    return { built: false, ms: Date.now() - started };
  }
  await rm(STAMP, { force: true });
  // Compiled files of deleted sources would linger and be hashed: start from empty output folders.
  await Promise.all(OUTPUT_DIRS.map((d) => rm(path.join(ROOT, d), { recursive: true, force: true })));
  await step('tsc -p tsconfig.build.json', [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json']);
  await step('the workflow bundle (node dist/src/bin/build-workflows.js)', ['dist/src/bin/build-workflows.js']);
  // The inputs are hashed again: an edit made while building must not be stamped as built.
  await writeFile(
    STAMP,
    JSON.stringify({
      inputs: (await hashOf(INPUT_DIRS, INPUT_FILES)) === inputs ? inputs : 'changed during the build',
      outputs: await hashOf(OUTPUT_DIRS, OUTPUT_FILES),
    }),
  );
  return { built: true, ms: Date.now() - started };
}
