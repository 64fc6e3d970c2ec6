import { EntitySchema } from '@mikro-orm/core';

/** One mutating API call: who, what, on which target, when, from where, and how it ended. */
export class AuditLog {
  id?: string;
  at: Date = new Date();
  actorKeyId: string | null;
  actorName: string | null;
  actorRole: string | null;
  /** the first characters of the key presented (authenticated or not), never the key itself; null when none was */
  keyPrefix: string | null;
  method: string;
  path: string;
  action: string;
  target: string | null;
  status: number;
  ip: string | null;
  userAgent: string | null;
  requestId: string;

  constructor(init: Omit<AuditLog, 'id' | 'at'>) {
    this.actorKeyId = init.actorKeyId;
    this.actorName = init.actorName;
    this.actorRole = init.actorRole;
    this.keyPrefix = init.keyPrefix;
    this.method = init.method;
    this.path = init.path;
    this.action = init.action;
    this.target = init.target;
    this.status = init.status;
    this.ip = init.ip;
    this.userAgent = init.userAgent;
    this.requestId = init.requestId;
  }
}

export const AuditLogSchema = new EntitySchema<AuditLog>({
  class: AuditLog,
  tableName: 'audit_log',
  indexes: [{ properties: ['at'] }, { properties: ['actorKeyId', 'at'] }],
  properties: {
    id: { type: 'bigint', primary: true, autoincrement: true },
    at: { type: 'Date', columnType: 'timestamptz' },
    actorKeyId: { type: 'uuid', nullable: true },
    actorName: { type: 'string', length: 100, nullable: true },
    actorRole: { type: 'string', length: 16, nullable: true },
    keyPrefix: { type: 'string', length: 10, nullable: true },
    method: { type: 'string', length: 10 },
    path: { type: 'text' },
    action: { type: 'string', length: 100 },
    target: { type: 'string', length: 200, nullable: true },
    status: { type: 'integer' },
    ip: { type: 'string', length: 64, nullable: true },
    userAgent: { type: 'text', nullable: true },
    requestId: { type: 'string', length: 64 },
  },
});
