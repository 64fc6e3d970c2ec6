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
  const existing = await em.findOne(Repository, { path: target.key });
  const repo = existing ?? new Repository({ name: target.name, path: target.key, testCmd: target.testCmd });
  repo.testCmd = target.testCmd;
  repo.benchCmd = target.benchCmd ?? null;
  await em.persistAndFlush(repo);
  return repo;
}
