import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser, type Page } from 'playwright-core';
import { Client, Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { WEB_DIR } from '../../src/api/routes/console/static';
import type { Config } from '../../src/config';
import { createLogger } from '../../src/logger';
import { scheduleDefinitions } from '../../src/temporal/schedule-definitions';
import { syncSchedules } from '../../src/temporal/schedules';
import { requiredTestEnv, TEST_ENV } from './env';

/** Shared setup of the console's browser tests: the build, Debian's chromium, signing in, screenshots. */

export const CHROMIUM = '/usr/bin/chromium';
export const ROOT = path.resolve(__dirname, '../..');
export const ARTIFACTS = path.join(ROOT, 'test-artifacts');

async function newestSource(dir: string): Promise<number> {
  let newest = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? await newestSource(p) : (await stat(p)).mtimeMs);
  }
  return newest;
}

/**
 * Builds the console from the current web/ sources unless the build is newer than every source (~2 s), so the console
 * under test is never stale. A lock directory keeps two test files of one checkout from building into dist/web at once
 * (vite empties it first: a page loading meanwhile would miss its assets).
 */
export async function buildConsole(): Promise<void> {
  const lock = path.join(
    os.tmpdir(),
    `lvlup-web-build-${createHash('sha1').update(ROOT).digest('hex').slice(0, 12)}.lock`,
  );
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      await mkdir(lock);
      break;
    } catch {
      const age = await stat(lock).then(
        (s) => Date.now() - s.mtimeMs,
        () => 0,
      );
      if (age > 60_000) await rm(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`the console build lock ${lock} was held for 2 minutes`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    const built = await stat(path.join(WEB_DIR, 'index.html')).then(
      (s) => s.mtimeMs,
      () => 0,
    );
    const sources = Math.max(
      await newestSource(path.join(ROOT, 'web')),
      ...(await Promise.all(['package.json'].map((f) => stat(path.join(ROOT, f)).then((s) => s.mtimeMs)))),
    );
    if (built < sources) await promisify(execFile)('npm', ['run', '-s', 'build:web'], { cwd: ROOT });
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

/** Debian's chromium, headless; loud, never a silent skip, when it is missing (.ci/run installs it). */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} is missing: install it with \`apt-get install -y chromium\` (see .ci/run)`);
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

/** {@link buildConsole} then {@link launchChromium}. */
export async function launchConsoleBrowser(): Promise<Browser> {
  await buildConsole();
  return launchChromium();
}

/**
 * Signs in through the form in a fresh browser context; collects console errors (a CSP violation is one) and the
 * page's uncaught errors, and checks the key stays out of the URL and in sessionStorage only.
 */
export async function signIn(browser: Browser, url: string, key: string): Promise<{ page: Page; errors: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${url}/`);
  await page.fill('input[name=key]', key);
  await page.click('button[type=submit]');
  await page.waitForSelector('nav .who');
  expect(page.url()).not.toContain(key);
  expect(await page.evaluate('sessionStorage.getItem("lvlup.apiKey")')).toBe(key);
  return { page, errors };
}

/** Opens a console route (`#/…`) and waits for `ready`, a selector only that page's content matches. */
export async function open(page: Page, hash: string, ready: string): Promise<void> {
  // Resolves after the console's own hashchange handler has swapped the old page out (it does so synchronously).
  const h = JSON.stringify(hash);
  await page.evaluate(`new Promise((resolve) => {
    if (location.hash === ${h}) return resolve();
    window.addEventListener('hashchange', () => setTimeout(resolve, 0), { once: true });
    location.hash = ${h};
  })`);
  await page.waitForSelector(ready);
}

/** A full-page screenshot into test-artifacts/<name>.png. */
export async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/**
 * A Temporal namespace of the test file's own on the run's dev server: the schedules have fixed ids (and a week's
 * report a fixed workflow id), so a file that creates, pauses or deletes them there cannot disturb another file's.
 */
export async function freshNamespace(): Promise<string> {
  const namespace = `console-${randomBytes(4).toString('hex')}`;
  const connection = await Connection.connect({ address: requiredTestEnv(TEST_ENV.temporalAddress) });
  try {
    await connection.workflowService.registerNamespace({
      namespace,
      workflowExecutionRetentionPeriod: msToTs('1 day'),
    });
  } finally {
    await connection.close();
  }
  return namespace;
}

/**
 * Creates every schedule in `config`'s namespace (retrying while a new namespace becomes usable), as a worker does at
 * start; `close` deletes them. With a task queue no worker polls, a triggered run waits there harmlessly.
 */
export async function createSchedules(config: Config): Promise<{ client: Client; close(): Promise<void> }> {
  const connection = await Connection.connect({ address: config.temporal.address ?? '' });
  const client = new Client({ connection, namespace: config.temporal.namespace });
  const definitions = scheduleDefinitions(config);
  const logger = createLogger({ level: 'error', format: 'json' });
  for (let attempt = 0; ; attempt++) {
    try {
      await syncSchedules(client, definitions, { catchupWindowSeconds: 60, logger });
      break;
    } catch (err) {
      if (attempt >= 60) throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  return {
    client,
    close: async () => {
      for (const d of definitions)
        await client.schedule
          .getHandle(d.id)
          .delete()
          .catch(() => undefined);
      await connection.close();
    },
  };
}
