import { AGENT_IDS, type AgentId } from './agents';
import { formatProfile, type LlmProfile } from './llm';

/**
 * Pure rules of judge independence (ARCHITECTURE §3.1, issue 15): who examines, answers and judges an exam, which
 * items are audited by a second judge, and how well two judges agree.
 */

/** How far the judge stands from the answering model. */
export const JUDGE_INDEPENDENCE = ['independent_provider', 'different_model', 'same_model'] as const;
export type JudgeIndependence = (typeof JUDGE_INDEPENDENCE)[number];

/** The configured profiles the choice is made from (the shape of config.llm.profiles). */
export interface ProfileSet {
  primary?: LlmProfile;
  fallback?: LlmProfile;
  examiner?: LlmProfile;
  judge?: LlmProfile;
  agents: Partial<Record<AgentId, LlmProfile | undefined>>;
}

/** The models of one exam, as `provider:model`, fixed at plan time. `auditJudge` is null when no second model exists. */
export interface ExamModels {
  examiner: string;
  answerer: string;
  judge: string;
  auditJudge: string | null;
  judgeIndependence: JudgeIndependence;
  examinerIndependence: JudgeIndependence;
}

const same = (a: LlmProfile, b: LlmProfile) => a.provider === b.provider && a.model === b.model;

export function independenceOf(answerer: LlmProfile, other: LlmProfile): JudgeIndependence {
  if (other.provider !== answerer.provider) return 'independent_provider';
  return other.model === answerer.model ? 'same_model' : 'different_model';
}

/** Every configured profile once, in order of preference: the role's own, primary, fallback, the other role, the agents'. */
function candidates(profiles: ProfileSet, role: 'judge' | 'examiner'): LlmProfile[] {
  const other = role === 'judge' ? 'examiner' : 'judge';
  const all = [
    profiles[role],
    profiles.primary,
    profiles.fallback,
    profiles[other],
    ...AGENT_IDS.map((id) => profiles.agents[id]),
  ];
  return all.filter(
    (p, i): p is LlmProfile => p !== undefined && all.findIndex((q) => q !== undefined && same(p, q)) === i,
  );
}

/**
 * The model that judges (or examines) an agent answering with `answerer`: the role's own profile (LLM_PROFILE_JUDGE /
 * LLM_PROFILE_EXAMINER) when it is set and is not the answering model; else the first configured profile of another
 * provider; else another model of the same provider; else the answering model itself (`same_model`).
 */
export function independentProfile(profiles: ProfileSet, role: 'judge' | 'examiner', answerer: LlmProfile): LlmProfile {
  const list = candidates(profiles, role);
  const own = profiles[role];
  if (own !== undefined && !same(own, answerer)) return own;
  return list.find((p) => p.provider !== answerer.provider) ?? list.find((p) => !same(p, answerer)) ?? answerer;
}

/**
 * The second judge that audits `judge`'s scores: the first configured profile that is neither the judge nor the
 * answerer, else the first that is not the judge (possibly the answerer's own model); null when the judge is the only model.
 */
export function auditProfile(profiles: ProfileSet, judge: LlmProfile, answerer: LlmProfile): LlmProfile | null {
  const others = candidates(profiles, 'judge').filter((p) => !same(p, judge));
  return others.find((p) => !same(p, answerer)) ?? others[0] ?? null;
}

/** The models of an exam of an agent answering with `answerer` (its stored override, else its profile, else primary). */
export function examModels(profiles: ProfileSet, answerer: LlmProfile): ExamModels {
  const judge = independentProfile(profiles, 'judge', answerer);
  const examiner = independentProfile(profiles, 'examiner', answerer);
  const audit = auditProfile(profiles, judge, answerer);
  return {
    examiner: formatProfile(examiner),
    answerer: formatProfile(answerer),
    judge: formatProfile(judge),
    auditJudge: audit === null ? null : formatProfile(audit),
    judgeIndependence: independenceOf(answerer, judge),
    examinerIndependence: independenceOf(answerer, examiner),
  };
}

/**
 * Whether an item is audited by a second judge at sampling `rate` (0–1): decided by a hash of its key (exam id and
 * position), so every retry and every worker makes the same choice. FNV-1a, so workflows could call it too.
 */
export function sampledForAudit(key: string, rate: number): boolean {
  if (rate <= 0) return false;
  if (rate >= 1) return true;
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h / 0x1_0000_0000 < rate;
}

/** Two judges' scores of one item. */
export interface ScorePair {
  a: number;
  b: number;
}

/** Mean absolute difference of the pairs' scores; null without pairs. */
export function meanAbsoluteDifference(pairs: readonly ScorePair[]): number | null {
  if (pairs.length === 0) return null;
  return pairs.reduce((s, p) => s + Math.abs(p.a - p.b), 0) / pairs.length;
}

/**
 * Krippendorff's alpha for interval data, units each rated by any number of coders (`null` = not rated): 1 − Do/De,
 * with Do the observed and De the expected disagreement over all pairable values (units with fewer than two values
 * are left out). Null when there is no pairable value or no variation at all (De = 0).
 */
export function krippendorffAlphaInterval(units: ReadonlyArray<ReadonlyArray<number | null>>): number | null {
  const pairable = units.map((u) => u.filter((v): v is number => v !== null)).filter((u) => u.length >= 2);
  const values = pairable.flat();
  const n = values.length;
  if (n < 2) return null;
  let observed = 0;
  for (const u of pairable) {
    let sum = 0;
    for (let i = 0; i < u.length; i++)
      for (let j = 0; j < u.length; j++) if (i !== j) sum += ((u[i] as number) - (u[j] as number)) ** 2;
    observed += sum / (u.length - 1);
  }
  observed /= n;
  let expected = 0;
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) if (i !== j) expected += ((values[i] as number) - (values[j] as number)) ** 2;
  expected /= n * (n - 1);
  return expected === 0 ? null : 1 - observed / expected;
}

/** A judge model's agreement with the other judges over the pairs it took part in. */
export interface JudgeAgreement {
  model: string;
  pairs: number;
  meanAbsoluteDifference: number | null;
  alpha: number | null;
}

/** Per judge model, its agreement over the audited items it judged or audited, sorted by model. */
export function agreementByJudge(
  audits: ReadonlyArray<{ judge: string; judgeScore: number; auditor: string; auditScore: number }>,
): JudgeAgreement[] {
  const models = [...new Set(audits.flatMap((a) => [a.judge, a.auditor]))].sort();
  return models.map((model) => {
    const mine = audits
      .filter((a) => a.judge === model || a.auditor === model)
      .map((a) => ({ a: a.judgeScore, b: a.auditScore }));
    return {
      model,
      pairs: mine.length,
      meanAbsoluteDifference: meanAbsoluteDifference(mine),
      alpha: krippendorffAlphaInterval(mine.map((p) => [p.a, p.b])),
    };
  });
}

/** Whether a judge's agreement is below the threshold (only once it has `minPairs` pairs and a defined alpha). */
export function agreementTooLow(agreement: JudgeAgreement, minAlpha: number, minPairs: number): boolean {
  return agreement.pairs >= minPairs && agreement.alpha !== null && agreement.alpha < minAlpha;
}
