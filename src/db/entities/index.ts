import { AgentSchema } from './agent.entity';
import { AgentSkillRatingSchema } from './agent-skill-rating.entity';
import { ApiKeySchema } from './api-key.entity';
import { AuditLogSchema } from './audit-log.entity';
import { LlmBudgetReservationSchema, LlmBudgetSchema, LlmBudgetUsageSchema } from './llm-budget.entity';
import { LlmCacheEntrySchema } from './llm-cache-entry.entity';
import { NotificationSchema } from './notification.entity';
import { RepositorySchema } from './repository.entity';
import { TokenUsageEventSchema } from './token-usage-event.entity';

export * from './agent.entity';
export * from './agent-skill-rating.entity';
export * from './api-key.entity';
export * from './audit-log.entity';
export * from './llm-budget.entity';
export * from './llm-cache-entry.entity';
export * from './notification.entity';
export * from './repository.entity';
export * from './token-usage-event.entity';

/** Every entity schema, registered with the ORM in one place. */
export const ENTITIES = [
  AgentSchema,
  AgentSkillRatingSchema,
  ApiKeySchema,
  AuditLogSchema,
  LlmBudgetSchema,
  LlmBudgetUsageSchema,
  LlmBudgetReservationSchema,
  LlmCacheEntrySchema,
  NotificationSchema,
  RepositorySchema,
  TokenUsageEventSchema,
];
