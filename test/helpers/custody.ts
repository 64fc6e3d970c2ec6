import { randomUUID } from 'node:crypto';

/** What the fake providers answer in custody exams, by who is asking (the prompts' fixed openings). */
export const EXAM_PROMPTS = {
  examiner: 'rigorous examiner',
  answering: 'You are taking an exam',
  judge: 'strict, fair judge',
} as const;

export const RUBRIC = [
  { name: 'accuracy', weight: 2, description: 'Is it correct?' },
  { name: 'clarity', weight: 1, description: 'Is it clear?' },
];

/** An open exam item as the fake examiner writes it, unique to this run (never a "seen" prompt). */
export const openItem = (n: number) => ({
  kind: 'open',
  prompt: `Explain concept number ${n} of this test run ${randomUUID()} in detail.`,
  rubric: RUBRIC,
});

/** A judge's reply scoring every criterion of `rubric` `score`, by id (`c1`, `c2`, … as the worker assigns them). */
export const judgeReply = (
  score: number,
  rubric: ReadonlyArray<{ name: string }> = RUBRIC,
  reason = `scored ${score}`,
) => ({
  json: { criteria: rubric.map((_c, i) => ({ id: `c${i + 1}`, score, reason })) },
});
