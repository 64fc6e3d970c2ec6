import { randomUUID } from 'node:crypto';
import type { FakeLlmServer, FakeReply, FakeRequest } from '../fakes/llm-servers';

/** The fixed openings of the prompts the fake provider answers, and the ledger purpose each one is billed under. */
export const PROMPTS = {
  examiner: { marker: 'rigorous examiner', purpose: 'exam.generate' },
  answering: { marker: 'You are taking an exam', purpose: 'exam.answer' },
  judge: { marker: 'strict, fair judge', purpose: 'exam.grade' },
} as const;

export type PromptName = keyof typeof PROMPTS;

/** The score (of 10) the fake judge gives every criterion: an exam on real answers scores 90 and passes. */
export const JUDGE_SCORE = 9;

const RUBRIC = [
  { name: 'accuracy', weight: 2, description: 'Is it correct?' },
  { name: 'clarity', weight: 1, description: 'Is it clear?' },
];

export interface ScriptedLlm {
  /** Requests the trap held (answered only on `release`: the worker was killed while they were in flight). */
  readonly held: Set<FakeRequest>;
  /** Resolves when the trap's request arrives (undefined: no trap). */
  readonly sprung: Promise<FakeRequest> | undefined;
  /** Ends the trap: the held requests and every later one are answered. */
  release(): void;
}

/**
 * Scripts the fake OpenAI server for exams: the examiner writes open items (unique prompts), the agent answers, the
 * judge gives {@link JUDGE_SCORE} everywhere. With a `trap`, the `nth` request of that prompt — and every later one
 * until `release` — is held open (never answered) and `sprung` resolves: the moment to kill the worker with the calls
 * in flight. Holding the later ones too keeps the moment exact: no call is answered while the kill is on its way.
 * Every other request is held open too (it never gets an answer).
 */
export function scriptExams(openai: FakeLlmServer, trap?: { prompt: PromptName; nth: number }): ScriptedLlm {
  const held = new Set<FakeRequest>();
  // Any other call (a scan's triage, a proposal's draft, a report) hangs: that work stays under way until it is ended.
  openai.respond((req) => {
    held.add(req);
    return { hang: true };
  });
  let spring: (req: FakeRequest) => void = () => undefined;
  const sprung = trap === undefined ? undefined : new Promise<FakeRequest>((resolve) => (spring = resolve));
  const seen: Partial<Record<PromptName, number>> = {};
  let released = false;
  let releaseHeld: () => void = () => undefined;
  const releasing = new Promise<void>((resolve) => (releaseHeld = resolve));
  const replies: Record<PromptName, (req: FakeRequest) => FakeReply> = {
    examiner: (req) => {
      const n = Number(/Write (\d+) exam item/.exec(req.prompt)?.[1] ?? 3);
      return {
        json: {
          items: Array.from({ length: n }, (_, i) => ({
            kind: 'open',
            prompt: `Explain idea ${i} of chaos run ${randomUUID()} in detail.`,
            rubric: RUBRIC,
          })),
        },
      };
    },
    answering: () => ({ text: 'A careful, complete answer.' }),
    judge: () => ({
      json: {
        criteria: RUBRIC.map((_c, i) => ({ id: `c${i + 1}`, score: JUDGE_SCORE, reason: `scored ${JUDGE_SCORE}` })),
      },
    }),
  };
  for (const name of Object.keys(PROMPTS) as PromptName[]) {
    openai.when(PROMPTS[name].marker, (req) => {
      seen[name] = (seen[name] ?? 0) + 1;
      if (trap?.prompt === name && !released && (seen[name] ?? 0) >= trap.nth) {
        held.add(req);
        spring(req);
        // Held until release, then answered: a worker that survived the fault gets its answer as from a slow provider
        // (a killed worker's connection is gone, so its copy is never read).
        return { until: releasing.then(() => replies[name](req)) };
      }
      return replies[name](req);
    });
  }
  return {
    held,
    sprung,
    release: () => {
      released = true;
      releaseHeld();
    },
  };
}
