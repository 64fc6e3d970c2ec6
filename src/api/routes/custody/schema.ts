import { z } from 'zod';
import { AGENT_IDS, AGENT_STATUSES, EXAM_CATEGORIES } from '../../../domain/agents';
import { DIFFICULTIES } from '../../../domain/custody';
import { JUDGE_INDEPENDENCE } from '../../../domain/judges';
import { EXAM_ITEM_KINDS, EXAM_STATUSES, EXAM_TRIGGERS } from '../../../db/entities';
import { paginationQuery } from '../../pagination';
import { nullableTimestamp, pageOf, timestamp } from '../../responses';
import { text } from '../../text';

export const startExamBody = z
  .object({ agentId: z.enum(AGENT_IDS), category: z.enum(EXAM_CATEGORIES).optional() })
  .strict();

export const listExamsQuery = paginationQuery.extend({
  agentId: z.enum(AGENT_IDS).optional(),
  status: z.enum(EXAM_STATUSES).optional(),
  category: z.enum(EXAM_CATEGORIES).optional(),
  olympus: z.stringbool().optional().describe('only Olympus Treaty exams (`true`) or only ordinary ones (`false`)'),
});

/** An exam is addressed by its id or by its workflow id. */
export const examIdParams = z.object({
  id: text(255, { trim: false }).regex(/^[A-Za-z0-9_.:-]+$/, 'must be an exam id or a workflow id'),
});

export const agentParams = z.object({ agentId: z.enum(AGENT_IDS) });

const examStatus = z.enum(EXAM_STATUSES);
const independence = z.enum(JUDGE_INDEPENDENCE);

/** `POST /custody/tests` (202). */
export const startedExamResponse = z
  .object({ workflowId: z.string(), agentId: z.enum(AGENT_IDS), statusUrl: z.string(), examUrl: z.string() })
  .meta({ id: 'StartedExam' });

/** An exam in a list (`presentExamSummary`). */
export const examSummaryResponse = z
  .object({
    id: z.uuid(),
    workflowId: z.string(),
    agentId: z.enum(AGENT_IDS),
    category: z.enum(EXAM_CATEGORIES),
    difficulty: z.string().describe(`one of ${DIFFICULTIES.join(', ')}`),
    olympus: z.boolean().describe('an Olympus Treaty exam (higher pass mark and XP)'),
    examNumber: z.number().int(),
    passMark: z.number(),
    timeLimitSeconds: z.number().int(),
    itemCount: z.number().int(),
    trigger: z.enum(EXAM_TRIGGERS),
    requestedBy: z.string().nullable(),
    status: examStatus,
    score: z.number().nullable().describe('0–100, null until graded'),
    borderline: z.boolean(),
    outcome: z
      .object({
        xpBefore: z.number(),
        xpDelta: z.number(),
        xpAfter: z.number(),
        levelBefore: z.number().int(),
        levelAfter: z.number().int(),
        levelHeldReason: z.string().nullable(),
        ratingBefore: z.number(),
        ratingAfter: z.number(),
        regression: z.object({ recentMean: z.number(), previousMean: z.number(), drop: z.number() }).nullable(),
        regressionSince: z.string().nullable().optional(),
      })
      .nullable()
      .describe("the exam's effect on the agent's progression, null until applied"),
    error: z.string().nullable(),
    startedAt: timestamp,
    completedAt: nullableTimestamp,
    models: z
      .object({ examiner: z.string(), answerer: z.string(), judge: z.string(), auditJudge: z.string().nullable() })
      .nullable()
      .describe('each as `provider:model`; null on exams planned before they were recorded'),
    judgeIndependence: independence.nullable(),
    examinerIndependence: independence.nullable(),
  })
  .meta({ id: 'ExamSummary' });

export const examPageResponse = pageOf(examSummaryResponse);

const gradingRun = z.object({
  score: z.number().nullable(),
  error: z.string().optional(),
  criteria: z
    .array(
      z.object({
        id: z.string().optional(),
        name: z.string(),
        weight: z.number(),
        score: z.number(),
        reason: z.string(),
      }),
    )
    .optional(),
  tests: z
    .array(
      z.object({
        args: z.array(z.unknown()),
        expected: z.unknown(),
        actual: z.unknown().optional(),
        passed: z.boolean(),
        error: z.string().optional(),
      }),
    )
    .optional(),
});

/** One item of an exam with the agent's answer and its grading. */
export const examItemResponse = z
  .object({
    position: z.number().int(),
    kind: z.enum(EXAM_ITEM_KINDS),
    prompt: z.string(),
    rubric: z
      .array(z.object({ id: z.string().optional(), name: z.string(), weight: z.number(), description: z.string() }))
      .nullable()
      .describe('the criteria of an `open` item'),
    hiddenTests: z
      .object({
        functionName: z.string(),
        cases: z.array(z.object({ args: z.array(z.unknown()), expected: z.unknown() })),
      })
      .nullable()
      .describe('the tests of a `code` item; null while the exam runs'),
    answer: z.string().nullable(),
    answeredAt: nullableTimestamp,
    answerMs: z.number().int().nullable().describe("the agent's answering time, which the time limit measures"),
    answerTimedOutAt: nullableTimestamp,
    score: z.number().nullable(),
    spread: z.number().nullable().describe('max − min of the counted judgings'),
    gradings: z.array(gradingRun).describe('each judging (several when borderline), or the test run of a code item'),
    gradedAt: nullableTimestamp,
  })
  .meta({ id: 'ExamItem' });

/** The whole exam (`presentExam`). */
export const examResponse = examSummaryResponse
  .extend({
    rules: z
      .record(z.string(), z.union([z.number(), z.record(z.string(), z.number())]))
      .nullable()
      .describe('the rules it was planned under and is scored by (GET /api/custody/rules names each)'),
    steps: z.array(z.object({ step: z.string(), at: z.string(), detail: z.string().optional() })),
    usage: z
      .object({
        inputTokens: z.number().int(),
        outputTokens: z.number().int(),
        costUsd: z.number(),
        calls: z.number().int(),
      })
      .describe("the exam's LLM calls"),
    items: z.array(examItemResponse),
  })
  .meta({ id: 'Exam' });

export const eligibilityResponse = z.object({
  agentId: z.enum(AGENT_IDS),
  openProposals: z.number().int(),
  eligible: z.boolean(),
  reasons: z.array(z.string()).describe("every failed check's detail, or one positive reason"),
  checks: z.array(
    z.object({
      rule: z.enum(['active', 'recent_pass', 'consecutive_failures', 'open_proposals']),
      ok: z.boolean(),
      detail: z.string(),
    }),
  ),
});

export const leaderboardResponse = z.object({
  items: z.array(
    z.object({
      position: z.number().int(),
      agentId: z.enum(AGENT_IDS),
      name: z.string(),
      level: z.number().int(),
      rank: z.string(),
      xp: z.number().int(),
      examsTaken: z.number().int(),
      examsPassed: z.number().int(),
      passRate: z.number().nullable(),
      consecutivePasses: z.number().int(),
      consecutiveFailures: z.number().int(),
      averageRating: z.number().nullable(),
      status: z.enum(AGENT_STATUSES),
    }),
  ),
});

export const categoriesResponse = z.object({
  categories: z.array(
    z.object({ id: z.enum(EXAM_CATEGORIES), agents: z.array(z.enum(AGENT_IDS)), requiresCodeItem: z.boolean() }),
  ),
  difficulties: z.array(
    z.object({
      id: z.enum(DIFFICULTIES),
      fromLevel: z.number().int(),
      timeLimitSeconds: z.number().int(),
      items: z.number().int(),
      xpMultiplier: z.number(),
      rating: z.number(),
    }),
  ),
});

export const rulesResponse = z.object({
  items: z.array(
    z.object({
      rule: z.string(),
      env: z.string().describe('the variable that sets it'),
      value: z.unknown(),
      default: z.unknown(),
      meaning: z.string(),
    }),
  ),
});

export const judgesResponse = z.object({
  windowDays: z.number(),
  auditSampleRate: z.number(),
  minAlpha: z.number(),
  minPairs: z.number().int(),
  items: z.array(
    z.object({
      model: z.string(),
      pairs: z.number().int(),
      meanAbsoluteDifference: z.number().nullable(),
      alpha: z.number().nullable().describe("Krippendorff's alpha"),
      belowThreshold: z.boolean(),
    }),
  ),
});
