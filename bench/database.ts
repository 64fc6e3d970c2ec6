import { loadConfig } from '../src/config';
import { createOrm, ensureDatabase, runMigrations } from '../src/db/orm';

/**
 * The bench's own database `name` on DATABASE_URL's server (default postgres://postgres@127.0.0.1:5432), suffixed
 * with BENCH_DB_SUFFIX when set (two checkouts benching side by side, each on its own schema).
 */
export function benchDatabaseUrl(name: string): string {
  const url = new URL(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/lvlup');
  url.pathname = `/${name}${process.env.BENCH_DB_SUFFIX ?? ''}`;
  return url.toString();
}

/** The bench database `name`, created if missing and migrated to the current schema; returns its URL. */
export async function migratedBenchDatabase(name: string): Promise<string> {
  const url = benchDatabaseUrl(name);
  await ensureDatabase(url);
  const orm = await createOrm(loadConfig({ DATABASE_URL: url, LOG_LEVEL: 'error' }).database);
  try {
    await runMigrations(orm);
  } finally {
    await orm.close(true);
  }
  return url;
}
