import Koa from 'koa';
import { loadConfig } from '../src/config';
import { createOrm } from '../src/db/orm';
import { createLogger } from '../src/logger';
import { createMetrics } from '../src/metrics';
import { startApi } from '../src/bin/processes';
import { createApiKey } from '../src/auth/api-keys';

/** Child process for bench/api.bench.ts: a bare Koa route and the full API, each on its own port. */
async function main(): Promise<void> {
  const config = loadConfig({ ...process.env, API_PORT: '0', LOG_LEVEL: 'error', RATE_LIMIT_ENABLED: 'false' });
  const bare = new Koa();
  bare.use((ctx) => {
    ctx.body = { ok: true };
  });
  const bareServer = bare.listen(0, '127.0.0.1');
  await new Promise((r) => bareServer.once('listening', r));
  const orm = await createOrm(config.database);
  const { key } = await createApiKey(orm.em.fork(), { name: `bench-${Date.now()}`, role: 'viewer' });
  const api = await startApi({ config, orm, logger: createLogger(config.log), metrics: createMetrics() });
  const barePort = (bareServer.address() as { port: number }).port;
  process.stdout.write(`${JSON.stringify({ bare: `http://127.0.0.1:${barePort}/`, api: `${api.url}/api/agents`, key })}\n`);
}
void main();
