import { DecimalType, EntitySchema } from '@mikro-orm/core';
import type { AgentId, ExamCategory } from '../../domain/agents';
import type { ExamModels, JudgeIndependence } from '../../domain/judges';
import type { Rules } from '../../domain/rules';

export const EXAM_STATUSES = ['running', 'passed', 'failed', 'error', 'skipped', 'cancelled'] as const;
export type ExamStatus = (typeof EXAM_STATUSES)[number];
export const EXAM_TRIGGERS = ['schedule', 'api'] as const;
export type ExamTrigger = (typeof EXAM_TRIGGERS)[number];

/** One step of an exam as it happened (the progress the API and the weekly report read). */
export interface ExamStep {
  step: string;
  at: string;
  detail?: string;
}

/** The outcome of an exam on the agent's progression, stored as it was applied (ARCHITECTURE §3.1 steps 6–8). */
export interface ExamOutcome {
  xpBefore: number;
  xpDelta: number;
  xpAfter: number;
  levelBefore: number;
  levelAfter: number;
  levelHeldReason: string | null;
  ratingBefore: number;
  ratingAfter: number;
  regression: { recentMean: number; previousMean: number; drop: number } | null;
  /**
   * With a regression: the exam that began this regression episode (this one, or the first of the unbroken run of
   * regressed exams in the category before it); `skill_regression` is notified once per episode, keyed on it.
   * Absent on exams finished before it was recorded.
   */
  regressionSince?: string | null;
}

/** A custody exam (ARCHITECTURE §3.1): one per workflow run, keyed on its workflow id. */
export class Exam {
  id: string;
  workflowId: string;
  agentId: AgentId;
  category: ExamCategory;
  difficulty: string;
  olympus: boolean;
  examNumber: number;
  passMark: number;
  timeLimitSeconds: number;
  itemCount: number;
  trigger: ExamTrigger;
  requestedBy: string | null;
  status: ExamStatus = 'running';
  steps: ExamStep[] = [];
  score: number | null = null;
  borderline = false;
  outcome: ExamOutcome | null = null;
  error: string | null = null;
  startedAt: Date = new Date();
  completedAt: Date | null = null;
  /** The rules (ARCHITECTURE §3.1) the exam was planned under and is scored by; null on exams planned before they were stored. */
  rules: Partial<Rules> | null = null;
  /** Who examined, answered, judged (and audits the judge), chosen at plan time; null on exams planned before. */
  models: ExamModels | null = null;
  /** How far the judge stands from the answering model (also in `models`; a column so it can be filtered). */
  judgeIndependence: JudgeIndependence | null = null;

  constructor(
    init: Omit<
      Exam,
      | 'status'
      | 'steps'
      | 'score'
      | 'borderline'
      | 'outcome'
      | 'error'
      | 'startedAt'
      | 'completedAt'
      | 'rules'
      | 'models'
      | 'judgeIndependence'
    >,
  ) {
    this.id = init.id;
    this.workflowId = init.workflowId;
    this.agentId = init.agentId;
    this.category = init.category;
    this.difficulty = init.difficulty;
    this.olympus = init.olympus;
    this.examNumber = init.examNumber;
    this.passMark = init.passMark;
    this.timeLimitSeconds = init.timeLimitSeconds;
    this.itemCount = init.itemCount;
    this.trigger = init.trigger;
    this.requestedBy = init.requestedBy;
  }
}

export const ExamSchema = new EntitySchema<Exam>({
  class: Exam,
  tableName: 'exams',
  indexes: [
    { properties: ['agentId', 'startedAt'] },
    { properties: ['agentId', 'category', 'completedAt'] },
    // GET /custody/tests: newest first (issue 17: read in index order, no sort).
    {
      name: 'exams_list_order_index',
      expression: `create index "exams_list_order_index" on "exams" ("started_at" desc, "id")`,
    },
  ],
  properties: {
    id: { type: 'uuid', primary: true },
    workflowId: { type: 'string', length: 255, unique: true },
    agentId: { type: 'string', length: 32 },
    category: { type: 'string', length: 64 },
    difficulty: { type: 'string', length: 16 },
    olympus: { type: 'boolean' },
    examNumber: { type: 'integer' },
    passMark: { type: 'integer' },
    timeLimitSeconds: { type: 'integer' },
    itemCount: { type: 'integer' },
    trigger: { type: 'string', length: 16 },
    requestedBy: { type: 'string', length: 100, nullable: true },
    status: { type: 'string', length: 16 },
    steps: { type: 'json' },
    score: { type: new DecimalType('number'), precision: 6, scale: 2, nullable: true },
    borderline: { type: 'boolean' },
    outcome: { type: 'json', nullable: true },
    error: { type: 'text', nullable: true },
    startedAt: { type: 'Date', columnType: 'timestamptz' },
    completedAt: { type: 'Date', columnType: 'timestamptz', nullable: true },
    rules: { type: 'json', nullable: true },
    models: { type: 'json', nullable: true },
    judgeIndependence: { type: 'string', length: 32, nullable: true },
  },
});

export const EXAM_ITEM_KINDS = ['open', 'code'] as const;
export type ExamItemKind = (typeof EXAM_ITEM_KINDS)[number];

/** A rubric criterion of an `open` item. */
export interface RubricCriterion {
  /** What the judge scores it by (`c1`, `c2`, … by position); absent on items stored before ids, which get the same by position. */
  id?: string;
  name: string;
  weight: number;
  description: string;
}

/** The hidden tests of a `code` item: calls of `functionName` and the value each must return. */
export interface HiddenTests {
  functionName: string;
  cases: Array<{ args: unknown[]; expected: unknown }>;
}

/**
 * One judging of an open item (several when the exam was borderline), or the test run of a code item. A judging in
 * which the judge left a criterion unscored even after a repair turn is a grading error: `score` null, `error` says
 * which criteria, `criteria` holds the ones it did score; it never counts.
 */
export interface GradingRun {
  score: number | null;
  error?: string;
  criteria?: Array<{ id?: string; name: string; weight: number; score: number; reason: string }>;
  tests?: Array<{ args: unknown[]; expected: unknown; actual?: unknown; passed: boolean; error?: string }>;
}

export interface ItemGrading {
  runs: GradingRun[];
  /** The score that counts: the median of the runs that count; null when none does (the exam then ends `error`). */
  score: number | null;
  /** max − min of the counted runs' scores (0 with one run). */
  spread: number;
}

/** An exam item with the agent's answer and its grading. */
export class ExamItem {
  id?: string;
  examId: string;
  position: number;
  kind: ExamItemKind;
  prompt: string;
  normalizedPrompt: string;
  rubric: RubricCriterion[] | null;
  hiddenTests: HiddenTests | null;
  answer: string | null = null;
  answeredAt: Date | null = null;
  /** How long the agent's model took to answer, from the answering attempt's start (what the time limit measures). */
  answerMs: number | null = null;
  /** Set when the agent's model did not answer within the exam's time limit: the item stays unanswered and scores 0. */
  answerTimedOutAt: Date | null = null;
  grading: ItemGrading | null = null;
  gradedAt: Date | null = null;
  createdAt: Date = new Date();

  constructor(
    init: Pick<ExamItem, 'examId' | 'position' | 'kind' | 'prompt' | 'normalizedPrompt' | 'rubric' | 'hiddenTests'>,
  ) {
    this.examId = init.examId;
    this.position = init.position;
    this.kind = init.kind;
    this.prompt = init.prompt;
    this.normalizedPrompt = init.normalizedPrompt;
    this.rubric = init.rubric;
    this.hiddenTests = init.hiddenTests;
  }
}

export const ExamItemSchema = new EntitySchema<ExamItem>({
  class: ExamItem,
  tableName: 'exam_items',
  uniques: [{ properties: ['examId', 'position'] }],
  indexes: [{ properties: ['normalizedPrompt'] }],
  properties: {
    id: { type: 'bigint', primary: true, autoincrement: true },
    examId: { type: 'uuid' },
    position: { type: 'integer' },
    kind: { type: 'string', length: 8 },
    prompt: { type: 'text' },
    normalizedPrompt: { type: 'text' },
    rubric: { type: 'json', nullable: true },
    hiddenTests: { type: 'json', nullable: true },
    answer: { type: 'text', nullable: true },
    answeredAt: { type: 'Date', columnType: 'timestamptz', nullable: true },
    answerMs: { type: 'integer', nullable: true },
    answerTimedOutAt: { type: 'Date', columnType: 'timestamptz', nullable: true },
    grading: { type: 'json', nullable: true },
    gradedAt: { type: 'Date', columnType: 'timestamptz', nullable: true },
    createdAt: { type: 'Date', columnType: 'timestamptz' },
  },
});
