import { randomUUID } from 'node:crypto';
import { EntitySchema } from '@mikro-orm/core';

/** A git repository the agents work on; the one from TARGET_REPO_PATH is upserted at start. */
export class Repository {
  id: string = randomUUID();
  name: string;
  path: string;
  defaultBranch: string | null = null;
  testCmd: string;
  benchCmd: string | null = null;
  createdAt: Date = new Date();
  updatedAt: Date = new Date();

  constructor(init: { name: string; path: string; testCmd: string; benchCmd?: string | null }) {
    this.name = init.name;
    this.path = init.path;
    this.testCmd = init.testCmd;
    this.benchCmd = init.benchCmd ?? null;
  }
}

export const RepositorySchema = new EntitySchema<Repository>({
  class: Repository,
  tableName: 'repositories',
  properties: {
    id: { type: 'uuid', primary: true },
    name: { type: 'string', length: 200 },
    path: { type: 'text', unique: true },
    defaultBranch: { type: 'string', length: 200, nullable: true },
    testCmd: { type: 'text' },
    benchCmd: { type: 'text', nullable: true },
    createdAt: { type: 'Date', columnType: 'timestamptz' },
    updatedAt: { type: 'Date', columnType: 'timestamptz', onUpdate: () => new Date() },
  },
});
