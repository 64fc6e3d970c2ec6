import { z } from 'zod';
import { AGENT_IDS } from '../domain/agents';

/**
 * The `llmComplete` activity's contract. Workflows cannot pass zod schemas through Temporal, so structured output
 * is asked for by name from this registry; the gateway validates against the same zod schema, and the workflow
 * gets the parsed type.
 */
const rubricCriterion = z.object({
  name: z.string().min(1).max(80),
  weight: z.number().positive().max(10),
  description: z.string().min(1).max(500),
});
const examItem = z.object({
  kind: z.enum(['open', 'code']),
  prompt: z.string().min(20).max(4000),
  /** open items: what the judge scores, each 0–10. */
  rubric: z.array(rubricCriterion).min(1).max(6).optional(),
  /** code items: the function the answer must define, and the hidden tests (arguments → expected return value). */
  functionName: z
    .string()
    .regex(/^[A-Za-z_$][\w$]{0,63}$/)
    .optional(),
  tests: z
    .array(z.object({ args: z.array(z.unknown()).max(10), expected: z.unknown() }))
    .min(2)
    .max(20)
    .optional(),
});

export const LLM_OUTPUT_SCHEMAS = {
  /** The examiner's exam: items of the requested kinds, each with its rubric or hidden tests. */
  'custody.items': z.object({ items: z.array(examItem).min(1).max(12) }),
  /** An agent's answer to a code item: JavaScript defining the requested function. */
  'custody.code_answer': z.object({
    code: z.string().min(1).max(20_000),
    explanation: z.string().max(2000).optional(),
  }),
  /**
   * A judge's scores for an open answer, one per rubric criterion, by the criterion's id (`c1`, …): matched by id,
   * never by name; a missing, unknown or repeated id is the grader's to handle (a repair turn), so the schema allows them.
   */
  'custody.grade': z.object({
    criteria: z
      .array(
        z.object({
          id: z.string().min(1).max(80).describe('the id of the rubric criterion, e.g. "c1"'),
          score: z.number().min(0).max(10),
          reason: z.string().min(1).max(1000),
        }),
      )
      .min(1)
      .max(12),
  }),
  /** A judge's grade of an answer or a change: the shape every grading step shares. */
  'judge.verdict': z.object({
    score: z.number().min(0).max(100).describe('0 (worthless) to 100 (perfect)'),
    passed: z.boolean(),
    reasoning: z.string().max(4000),
  }),
} as const;
export type LlmOutputSchemaName = keyof typeof LLM_OUTPUT_SCHEMAS;
export type LlmOutputOf<S extends LlmOutputSchemaName> = z.infer<(typeof LLM_OUTPUT_SCHEMAS)[S]>;

export const llmCompleteInput = z
  .object({
    agentId: z.enum(AGENT_IDS).optional(),
    purpose: z.string().regex(/^[a-z][a-z0-9_.:-]{0,99}$/, 'must be a lower-case label such as "exam.grade"'),
    messages: z
      .array(
        z.object({ role: z.enum(['system', 'user', 'assistant']), content: z.string().min(1).max(400_000) }).strict(),
      )
      .min(1)
      .max(200),
    schema: z.enum(Object.keys(LLM_OUTPUT_SCHEMAS) as [LlmOutputSchemaName, ...LlmOutputSchemaName[]]).optional(),
    maxTokens: z.number().int().min(1).max(64_000),
    temperature: z.number().min(0).max(2).default(0),
    profile: z.string().min(1).max(200).optional(),
    cacheTtlSeconds: z
      .number()
      .int()
      .min(0)
      .max(30 * 86_400)
      .optional(),
  })
  .strict();
export type LlmCompleteInput<S extends LlmOutputSchemaName | undefined = LlmOutputSchemaName | undefined> = Omit<
  z.input<typeof llmCompleteInput>,
  'schema'
> & { schema?: S };

export interface LlmCompleteOutput<T> {
  output: T;
  provider: string;
  model: string;
  usage: { inputTokens: number; outputTokens: number };
  costUsd: number;
  cacheHit: boolean;
  fallbackUsed: boolean;
  repaired: boolean;
}

/**
 * A start-to-close timeout that covers the most one activity attempt can do: a call and its repair, on the primary
 * profile and then on the fallback, each bounded by LLM_TIMEOUT_SECONDS.
 */
export function llmStartToCloseMs(llmTimeoutMs: number): number {
  return 4 * llmTimeoutMs + 30_000;
}
