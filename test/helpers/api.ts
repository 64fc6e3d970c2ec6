import type Koa from 'koa';
import type { MikroORM } from '@mikro-orm/postgresql';
import { createApiKey } from '../../src/auth/api-keys';
import { memoryRateLimitStore, type RateLimitStore } from '../../src/rate-limit-store';
import { listen } from '../../src/api/server';
import type { AppState } from '../../src/api/types';
import type { Config } from '../../src/config';
import type { ApiKeyRole } from '../../src/db/entities';
import { createOrm } from '../../src/db/orm';
import { createLogger } from '../../src/logger';
import { createMetrics } from '../../src/metrics';
import { createTemporalClient } from '../../src/temporal/client';

export interface TestApi {
  url: string;
  /** the Koa app being served: its routers are what the API routes */
  app: Koa<AppState>;
  orm: MikroORM;
  /** Creates a key with `role` and returns it in clear. */
  key(role: ApiKeyRole, name?: string): Promise<string>;
  request(
    method: string,
    path: string,
    opts?: { key?: string; body?: unknown; headers?: Record<string, string> },
  ): Promise<TestResponse>;
  /** Records a workflow started through the API outside `request` (a raw fetch), for `close` to terminate. */
  track(workflowId: string): void;
  /** Terminates every workflow a 202 answer started (they would outlive the file on the shared dev server, and a
   * deterministic id — a week's report — would collide with another file's), then stops the API. */
  close(): Promise<void>;
}

export interface TestResponse {
  status: number;
  headers: Headers;
  body: unknown;
  text: string;
}

/**
 * Starts the real API (full middleware stack) on a free port against `config`, driven over real HTTP; its rate-limit
 * store is a fresh in-memory one unless `rateLimitStore` is given (to share one between two APIs, as Redis does).
 */
export async function startTestApi(
  config: Config,
  { rateLimitStore = memoryRateLimitStore() }: { rateLimitStore?: RateLimitStore } = {},
): Promise<TestApi> {
  const orm = await createOrm(config.database);
  const temporal = createTemporalClient(config.temporal);
  const logger = createLogger(config.log);
  const api = await listen({ config, orm, temporal, logger, metrics: createMetrics(), rateLimitStore }, '127.0.0.1', 0);
  let keys = 0;
  const started = new Set<string>();
  return {
    track: (id) => started.add(id),
    url: api.url,
    app: api.app,
    orm,
    key: async (role, name) => (await createApiKey(orm.em.fork(), { name: name ?? `${role}-${++keys}`, role })).key,
    request: async (method, path, opts = {}) => {
      const headers: Record<string, string> = { ...opts.headers };
      if (opts.key !== undefined) headers.Authorization = `Bearer ${opts.key}`;
      let body: string | undefined;
      if (opts.body !== undefined) {
        body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
        headers['Content-Type'] ??= 'application/json';
      }
      const res = await fetch(api.url + path, { method, headers, body });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // not JSON (e.g. /metrics): keep the text
      }
      const workflowId = (parsed as { workflowId?: unknown } | null)?.workflowId;
      if (res.status === 202 && typeof workflowId === 'string') started.add(workflowId);
      return { status: res.status, headers: res.headers, body: parsed, text };
    },
    close: async () => {
      await Promise.all(
        [...started].map((id) =>
          temporal.workflow
            .getHandle(id)
            .terminate('test file over')
            .catch(() => undefined),
        ),
      );
      await api.close();
      await temporal.connection.close();
      await orm.close();
    },
  };
}
