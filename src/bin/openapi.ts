import { writeFileSync } from 'node:fs';
import type { Client } from '@temporalio/client';
import type { MikroORM } from '@mikro-orm/postgresql';
import { createApp } from '../api/app';
import { API_INFO, buildOpenApiDocument, mountedRouters } from '../api/openapi/generate';
import { loadConfig } from '../config';
import { createLogger } from '../logger';
import { createMetrics } from '../metrics';
import { memoryRateLimitStore } from '../rate-limit-store';
import { runMain } from './run-main';

/**
 * Writes the OpenAPI document of every route the API serves to the file named by the first argument (stdout without
 * one), without a server, database or Temporal: the app is built (never listened on) with stand-ins that no route
 * calls while being mounted. `npm run lint:openapi` lints what this writes.
 */
runMain(async () => {
  const config = loadConfig({
    NODE_ENV: 'development',
    DATABASE_URL: 'postgres://openapi@127.0.0.1:1/openapi',
    LOG_LEVEL: 'error',
  });
  const unused = new Proxy(
    {},
    {
      get: (_t, key) => {
        throw new Error(`building the OpenAPI document used ${String(key)} of a dependency`);
      },
    },
  );
  const app = createApp({
    config,
    orm: unused as MikroORM,
    temporal: unused as Client,
    logger: createLogger(config.log),
    metrics: createMetrics(),
    rateLimitStore: memoryRateLimitStore(),
  });
  const json = `${JSON.stringify(buildOpenApiDocument(mountedRouters(app), API_INFO), null, 2)}\n`;
  const out = process.argv[2];
  if (out === undefined) process.stdout.write(json);
  else writeFileSync(out, json);
});
