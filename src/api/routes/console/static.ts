import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Middleware } from 'koa';
import type { AppState } from '../../types';
import { isApiPath } from '../../api-path';

/**
 * Where `npm run build:web` writes the console: `<project>/dist/web`. From `src/api/routes/console` (ts-node, jest) that
 * is `../../../../dist/web`; from the compiled `dist/src/api/routes/console` it is `../../../../web`.
 */
export const WEB_DIR = path.resolve(__dirname, '../../../..', __filename.endsWith('.ts') ? 'dist/web' : 'web');

/** Only what the console loads; nothing else, so no script or style can come from anywhere but these files. */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  '.html': 'html',
  '.js': 'application/javascript',
  '.css': 'css',
  '.svg': 'image/svg+xml',
  '.png': 'png',
  '.ico': 'image/x-icon',
  '.json': 'json',
  '.map': 'json',
};
const HASHED = /^\/assets\/[^/]+-[A-Za-z0-9_-]{8,}\.[a-z0-9]+$/;

/**
 * Serves the built web console at `/` (GET/HEAD outside `/api`, no auth: the console signs in with a key itself).
 * index.html is `no-cache` (it names the current hashed assets); hashed assets are cached for a year. Every answer
 * carries the console's CSP, replacing helmet's default one (whose `upgrade-insecure-requests` would break plain-http
 * hosts). When the console is not built, `/` says how to build it.
 */
export function consoleAssets(dir: string = WEB_DIR): Middleware<AppState> {
  return async (ctx, next) => {
    if ((ctx.method !== 'GET' && ctx.method !== 'HEAD') || isApiPath(ctx.path)) return next();
    const rel = ctx.path === '/' ? '/index.html' : ctx.path;
    const type = TYPES[path.extname(rel)];
    const file = path.join(dir, path.normalize(rel));
    if (type === undefined || !file.startsWith(dir + path.sep) || !(await isFile(file))) {
      if (ctx.path !== '/') return next();
      ctx.status = 503;
      ctx.type = 'text';
      ctx.body = 'The web console is not built: run `npm run build:web` (or `npm run build`).';
      return;
    }
    ctx.set('Content-Security-Policy', CONSOLE_CSP);
    ctx.set('Cache-Control', HASHED.test(rel) ? 'public, max-age=31536000, immutable' : 'no-cache');
    ctx.type = type;
    ctx.body = await readFile(file);
  };
}

async function isFile(file: string): Promise<boolean> {
  return stat(file).then(
    (s) => s.isFile(),
    () => false,
  );
}
