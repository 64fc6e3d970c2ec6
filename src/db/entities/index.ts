import { AgentSchema } from './agent.entity';
import { AgentSkillRatingSchema } from './agent-skill-rating.entity';
import { ApiKeySchema } from './api-key.entity';
import { AuditLogSchema } from './audit-log.entity';
import { NotificationSchema } from './notification.entity';
import { RepositorySchema } from './repository.entity';

export * from './agent.entity';
export * from './agent-skill-rating.entity';
export * from './api-key.entity';
export * from './audit-log.entity';
export * from './notification.entity';
export * from './repository.entity';

/** Every entity schema, registered with the ORM in one place. */
export const ENTITIES = [
  AgentSchema,
  AgentSkillRatingSchema,
  ApiKeySchema,
  AuditLogSchema,
  NotificationSchema,
  RepositorySchema,
];
