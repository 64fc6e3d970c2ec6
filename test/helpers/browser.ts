import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser, type Page } from 'playwright-core';

/** Debian's chromium, which the browser tests drive through playwright-core (no browser download). */
export const CHROMIUM = '/usr/bin/chromium';
export const ROOT = path.resolve(__dirname, '../..');
/** Where the browser tests save their screenshots. */
export const ARTIFACTS = path.join(ROOT, 'test-artifacts');

/**
 * Builds the console from the current web/ sources (~2 s, so the console under test is never a stale build) and
 * launches headless chromium. Loud, never a silent skip, when chromium is missing (.ci/run installs it).
 */
export async function launchConsoleBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install it with \`apt-get install -y chromium\` (see .ci/run)`);
  await promisify(execFile)('npm', ['run', '-s', 'build:web'], { cwd: ROOT });
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
}

/**
 * Signs in through the console's form with `key` in a fresh browser context; collects console errors (a CSP violation
 * is one) and checks the key stays out of the URL and in sessionStorage only.
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

/** A full-page screenshot into test-artifacts/<name>.png. */
export async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}
