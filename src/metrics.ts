import http from 'node:http';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** One prom-client registry per process, with the application's own instruments on it. */
export interface Metrics {
  registry: Registry;
  httpRequestDuration: Histogram<'method' | 'route' | 'status'>;
  httpRequests: Counter<'method' | 'route' | 'status'>;
  llmRequests: Counter<'provider' | 'model' | 'purpose' | 'outcome'>;
  llmTokens: Counter<'provider' | 'model' | 'purpose' | 'direction'>;
  llmCostUsd: Counter<'provider' | 'model' | 'purpose'>;
  llmRequestDuration: Histogram<'provider' | 'model' | 'purpose' | 'outcome'>;
  llmCacheHits: Counter<'provider' | 'model' | 'purpose'>;
  llmReusedAnswers: Counter<'provider' | 'model' | 'purpose'>;
  dbQueryDuration: Histogram<'kind'>;
  apiCacheReads: Counter<'cache' | 'result'>;
}

/** Creates the registry (with Node's default metrics) and every instrument the application records. */
export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const httpRequestDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by route template and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const httpRequests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests by route template and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const llm = ['provider', 'model', 'purpose'] as const;
  return {
    registry,
    httpRequestDuration,
    httpRequests,
    llmRequests: new Counter({
      name: 'llm_requests_total',
      help: 'LLM gateway calls by outcome (ok, cache_hit, bad_output, rate_limited, budget_exceeded, timeout, …)',
      labelNames: [...llm, 'outcome'] as const,
      registers: [registry],
    }),
    llmTokens: new Counter({
      name: 'llm_tokens_total',
      help: 'Tokens billed by providers, by direction (input, output)',
      labelNames: [...llm, 'direction'] as const,
      registers: [registry],
    }),
    llmCostUsd: new Counter({
      name: 'llm_cost_usd_total',
      help: 'Cost of LLM calls in USD (price table in src/llm/prices.ts)',
      labelNames: llm,
      registers: [registry],
    }),
    llmRequestDuration: new Histogram({
      name: 'llm_request_duration_seconds',
      help: 'Duration of LLM gateway calls, cache hits included',
      labelNames: [...llm, 'outcome'] as const,
      buckets: [0.001, 0.005, 0.025, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers: [registry],
    }),
    llmCacheHits: new Counter({
      name: 'llm_cache_hits_total',
      help: 'LLM calls answered from the cache',
      labelNames: llm,
      registers: [registry],
    }),
    llmReusedAnswers: new Counter({
      name: 'llm_reused_answers_total',
      help: 'LLM calls of a retried activity answered by what an earlier attempt settled and paid for (no request, no charge)',
      labelNames: llm,
      registers: [registry],
    }),
    dbQueryDuration: new Histogram({
      name: 'db_query_duration_seconds',
      help: 'Duration of the SQL statements this process sent to PostgreSQL (real queries, from sending to the answer), by kind',
      labelNames: ['kind'] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    apiCacheReads: new Counter({
      name: 'api_cache_reads_total',
      help: 'Reads of an in-process API cache: hit (from memory), miss (loaded and kept), bypass (its change feed is down)',
      labelNames: ['cache', 'result'] as const,
      registers: [registry],
    }),
  };
}

/**
 * Serves the registry at http://address/metrics, for a process without the API (a standalone worker: its llm_*
 * metrics live here). Resolves once listening; the returned function stops the server.
 */
export async function serveMetrics(registry: Registry, address: string): Promise<() => Promise<void>> {
  const at = address.lastIndexOf(':');
  const host = address.slice(0, at) || '0.0.0.0';
  const port = Number(address.slice(at + 1));
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      () => res.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  return () => new Promise<void>((resolve) => server.close(() => resolve()));
}
