import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Config } from '../config';
import { Repository } from './entities';

/**
 * Upserts the `repositories` row for the target, keyed on `key` — its local path, or for a remote target its
 * credential-free URL (stored in the `path` column: where the repository is) — so later work can reference it by id.
 */
export async function syncTargetRepository(
  em: EntityManager,
  target: Pick<Config['target'], 'testCmd' | 'benchCmd'> & { key: string; name: string },
): Promise<Repository> {
  // One statement: processes starting together on a fresh database (the API and its workers) cannot both insert the
  // row — the unique path failed one of them at start. An unchanged row is left as it is.
  await em.getConnection().execute(
    `insert into "repositories" ("id", "name", "path", "test_cmd", "bench_cmd", "created_at", "updated_at") values (?, ?, ?, ?, ?, now(), now())
     on conflict ("path") do update set "test_cmd" = excluded."test_cmd", "bench_cmd" = excluded."bench_cmd", "updated_at" = now()
       where ("repositories"."test_cmd", "repositories"."bench_cmd") is distinct from (excluded."test_cmd", excluded."bench_cmd")`,
    [randomUUID(), target.name, target.key, target.testCmd, target.benchCmd ?? null],
    'run',
  );
  return em.findOneOrFail(Repository, { path: target.key }, { refresh: true });
}
