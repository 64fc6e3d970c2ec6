import { EntitySchema } from '@mikro-orm/core';

/**
 * A secret set through the API (a webhook secret, a provider key), encrypted at rest with AES-256-GCM under
 * `DATA_ENCRYPTION_KEY` (ARCHITECTURE §6). `keyId` names the key that sealed it, so a rotation re-seals what it must.
 */
export class StoredSecret {
  name: string;
  ciphertext: string;
  keyId: string;
  updatedBy: string | null;
  updatedAt: Date = new Date();

  constructor(init: Pick<StoredSecret, 'name' | 'ciphertext' | 'keyId' | 'updatedBy'>) {
    this.name = init.name;
    this.ciphertext = init.ciphertext;
    this.keyId = init.keyId;
    this.updatedBy = init.updatedBy;
  }
}

export const StoredSecretSchema = new EntitySchema<StoredSecret>({
  class: StoredSecret,
  tableName: 'stored_secrets',
  properties: {
    name: { type: 'string', length: 100, primary: true },
    ciphertext: { type: 'text' },
    keyId: { type: 'string', length: 32 },
    updatedBy: { type: 'string', length: 100, nullable: true },
    updatedAt: { type: 'Date', columnType: 'timestamptz' },
  },
});
