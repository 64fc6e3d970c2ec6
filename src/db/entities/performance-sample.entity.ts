import { EntitySchema } from '@mikro-orm/core';

/** One measured figure of the target (a benchmark line, or the test suite's duration) at one commit, in one run. */
export class PerformanceSample {
  id?: string;
  repositoryId: string;
  runId: string;
  commit: string;
  name: string;
  source: 'bench' | 'tests';
  ms: number;
  at: Date = new Date();

  constructor(init: Omit<PerformanceSample, 'id' | 'at'>) {
    this.repositoryId = init.repositoryId;
    this.runId = init.runId;
    this.commit = init.commit;
    this.name = init.name;
    this.source = init.source;
    this.ms = init.ms;
  }
}

export const PerformanceSampleSchema = new EntitySchema<PerformanceSample>({
  class: PerformanceSample,
  tableName: 'performance_samples',
  indexes: [{ properties: ['repositoryId', 'name', 'at'] }],
  uniques: [{ properties: ['runId', 'name'] }],
  properties: {
    id: { type: 'bigint', primary: true, autoincrement: true },
    repositoryId: { type: 'uuid' },
    runId: { type: 'uuid' },
    commit: { type: 'string', length: 64 },
    name: { type: 'string', length: 200 },
    source: { type: 'string', length: 16 },
    ms: { type: 'double' },
    at: { type: 'Date', columnType: 'timestamptz' },
  },
});
