import { AgentSchema } from './agent.entity';
import { AgentRunSchema } from './agent-run.entity';
import { AgentSkillRatingSchema } from './agent-skill-rating.entity';
import { ApiKeySchema } from './api-key.entity';
import { AuditLogSchema } from './audit-log.entity';
import { ExamItemSchema, ExamSchema } from './exam.entity';
import { FindingSchema } from './finding.entity';
import { JudgeAuditSchema } from './judge-audit.entity';
import { KnowledgeNoteSchema } from './knowledge-note.entity';
import { LlmBudgetReservationSchema, LlmBudgetSchema, LlmBudgetUsageSchema } from './llm-budget.entity';
import { LlmCacheEntrySchema } from './llm-cache-entry.entity';
import { NotificationSchema } from './notification.entity';
import { PerformanceSampleSchema } from './performance-sample.entity';
import { ProposalEventSchema, ProposalSchema } from './proposal.entity';
import { RowCountSchema, TokenUsageRollupSchema } from './read-models.entity';
import { RepositorySchema } from './repository.entity';
import { SkillRatingEventSchema } from './skill-rating-event.entity';
import { StoredSecretSchema } from './stored-secret.entity';
import { WebhookDeliverySchema } from './webhook-delivery.entity';
import { TokenUsageEventSchema } from './token-usage-event.entity';
import { WorkerRegistrationSchema } from './worker-registration.entity';

export * from './agent.entity';
export * from './agent-run.entity';
export * from './agent-skill-rating.entity';
export * from './api-key.entity';
export * from './audit-log.entity';
export * from './exam.entity';
export * from './finding.entity';
export * from './judge-audit.entity';
export * from './knowledge-note.entity';
export * from './llm-budget.entity';
export * from './llm-cache-entry.entity';
export * from './notification.entity';
export * from './performance-sample.entity';
export * from './proposal.entity';
export * from './read-models.entity';
export * from './repository.entity';
export * from './skill-rating-event.entity';
export * from './stored-secret.entity';
export * from './webhook-delivery.entity';
export * from './token-usage-event.entity';
export * from './worker-registration.entity';

/** Every entity schema, registered with the ORM in one place. */
export const ENTITIES = [
  AgentSchema,
  AgentRunSchema,
  AgentSkillRatingSchema,
  ApiKeySchema,
  AuditLogSchema,
  ExamSchema,
  ExamItemSchema,
  FindingSchema,
  JudgeAuditSchema,
  KnowledgeNoteSchema,
  LlmBudgetSchema,
  LlmBudgetUsageSchema,
  LlmBudgetReservationSchema,
  LlmCacheEntrySchema,
  NotificationSchema,
  PerformanceSampleSchema,
  ProposalSchema,
  ProposalEventSchema,
  RowCountSchema,
  RepositorySchema,
  SkillRatingEventSchema,
  StoredSecretSchema,
  WebhookDeliverySchema,
  TokenUsageEventSchema,
  TokenUsageRollupSchema,
  WorkerRegistrationSchema,
];
