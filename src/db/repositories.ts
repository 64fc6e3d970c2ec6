import path from 'node:path';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Config } from '../config';
import { Repository } from './entities';

/** Upserts the `repositories` row for the target (keyed on its path), so later work can reference it by id. */
export async function syncTargetRepository(
  em: EntityManager,
  target: Pick<Config['target'], 'testCmd' | 'benchCmd'> & { repoPath: string | undefined },
): Promise<Repository | null> {
  if (target.repoPath === undefined) return null;
  const existing = await em.findOne(Repository, { path: target.repoPath });
  const repo =
    existing ?? new Repository({ name: path.basename(target.repoPath), path: target.repoPath, testCmd: target.testCmd });
  repo.testCmd = target.testCmd;
  repo.benchCmd = target.benchCmd ?? null;
  await em.persistAndFlush(repo);
  return repo;
}
