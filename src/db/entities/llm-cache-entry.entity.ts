import { EntitySchema } from '@mikro-orm/core';

/** The second cache tier when there is no Redis: one answer per request hash, until it expires. */
export class LlmCacheEntry {
  key: string;
  value: Record<string, unknown>;
  expiresAt: Date;

  constructor(init: LlmCacheEntry) {
    this.key = init.key;
    this.value = init.value;
    this.expiresAt = init.expiresAt;
  }
}

export const LlmCacheEntrySchema = new EntitySchema<LlmCacheEntry>({
  class: LlmCacheEntry,
  tableName: 'llm_cache_entries',
  indexes: [{ properties: ['expiresAt'] }],
  properties: {
    key: { type: 'string', length: 64, primary: true },
    value: { type: 'json' },
    expiresAt: { type: 'Date', columnType: 'timestamptz' },
  },
});
