import { randomUUID } from 'node:crypto';
import { EntitySchema } from '@mikro-orm/core';

export const API_KEY_ROLES = ['viewer', 'operator', 'admin'] as const;
export type ApiKeyRole = (typeof API_KEY_ROLES)[number];

/** An API key; only its SHA-256 hash and a short display prefix are stored, never the key. */
export class ApiKey {
  id: string = randomUUID();
  name: string;
  role: ApiKeyRole;
  keyHash: string;
  prefix: string;
  createdBy: string | null = null;
  createdAt: Date = new Date();
  lastUsedAt: Date | null = null;
  revokedAt: Date | null = null;

  constructor(init: { name: string; role: ApiKeyRole; keyHash: string; prefix: string; createdBy?: string | null }) {
    this.name = init.name;
    this.role = init.role;
    this.keyHash = init.keyHash;
    this.prefix = init.prefix;
    this.createdBy = init.createdBy ?? null;
  }
}

export const ApiKeySchema = new EntitySchema<ApiKey>({
  class: ApiKey,
  tableName: 'api_keys',
  properties: {
    id: { type: 'uuid', primary: true },
    name: { type: 'string', length: 100 },
    role: { type: 'string', length: 16 },
    keyHash: { type: 'string', length: 64, unique: true },
    prefix: { type: 'string', length: 16 },
    createdBy: { type: 'string', length: 100, nullable: true },
    createdAt: { type: 'Date', columnType: 'timestamptz' },
    lastUsedAt: { type: 'Date', columnType: 'timestamptz', nullable: true },
    revokedAt: { type: 'Date', columnType: 'timestamptz', nullable: true },
  },
});
