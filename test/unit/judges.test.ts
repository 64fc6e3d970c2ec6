import { loadConfig } from '../../src/config';
import { configProblems } from '../helpers/config';
import {
  agreementByJudge,
  agreementTooLow,
  examModels,
  krippendorffAlphaInterval,
  meanAbsoluteDifference,
  sampledForAudit,
  type JudgeAgreement,
  type ProfileSet,
} from '../../src/domain/judges';

const openai = { provider: 'openai', model: 'gpt-4o-mini' } as const;
const openaiBig = { provider: 'openai', model: 'gpt-4o' } as const;
const claude = { provider: 'anthropic', model: 'claude-3-5-haiku-latest' } as const;

describe('krippendorffAlphaInterval', () => {
  it('gives 0.849 on Krippendorff’s textbook example (4 coders, 12 units, missing values)', () => {
    // Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", the 4-observer example: interval α = 0.849.
    const units = [
      [1, 1, null, 1],
      [2, 2, 3, 2],
      [3, 3, 3, 3],
      [3, 3, 3, 3],
      [2, 2, 2, 2],
      [1, 2, 3, 4],
      [4, 4, 4, 4],
      [1, 1, 2, 1],
      [2, 2, 2, 2],
      [null, 5, 5, 5],
      [null, null, 1, 1],
      [null, 3, null, null],
    ];
    expect(krippendorffAlphaInterval(units)).toBeCloseTo(0.849, 3);
  });

  it('is 1 for perfect agreement with variation, null without variation or pairable values', () => {
    expect(
      krippendorffAlphaInterval([
        [1, 1],
        [5, 5],
        [9, 9],
      ]),
    ).toBe(1);
    expect(
      krippendorffAlphaInterval([
        [4, 4],
        [4, 4],
      ]),
    ).toBeNull();
    expect(krippendorffAlphaInterval([[4, null], [3]])).toBeNull();
  });

  it('goes below 0 when judges disagree systematically', () => {
    expect(
      krippendorffAlphaInterval([
        [0, 10],
        [10, 0],
        [0, 10],
      ]) ?? 1,
    ).toBeLessThan(0);
  });
});

describe('meanAbsoluteDifference', () => {
  it('averages |a − b|', () => {
    expect(
      meanAbsoluteDifference([
        { a: 80, b: 70 },
        { a: 50, b: 55 },
      ]),
    ).toBe(7.5);
    expect(meanAbsoluteDifference([])).toBeNull();
  });
});

describe('examModels', () => {
  const set = (p: Partial<ProfileSet>): ProfileSet => ({ agents: {}, ...p });

  it('with two providers, judges and examines with the other provider', () => {
    expect(examModels(set({ primary: openai, fallback: claude }), openai)).toEqual({
      examiner: 'anthropic:claude-3-5-haiku-latest',
      answerer: 'openai:gpt-4o-mini',
      judge: 'anthropic:claude-3-5-haiku-latest',
      auditJudge: 'openai:gpt-4o-mini',
      judgeIndependence: 'independent_provider',
      examinerIndependence: 'independent_provider',
    });
  });

  it('keeps LLM_PROFILE_JUDGE when it is not the answering model, else looks further', () => {
    expect(examModels(set({ primary: openai, fallback: claude, judge: openaiBig }), openai)).toMatchObject({
      judge: 'openai:gpt-4o',
      judgeIndependence: 'different_model',
      auditJudge: 'anthropic:claude-3-5-haiku-latest',
    });
    expect(examModels(set({ primary: openai, fallback: claude, judge: openai }), openai)).toMatchObject({
      judge: 'anthropic:claude-3-5-haiku-latest',
      judgeIndependence: 'independent_provider',
    });
  });

  it('takes another model of the same provider when there is no other provider', () => {
    expect(examModels(set({ primary: openai, examiner: openaiBig }), openai)).toMatchObject({
      judge: 'openai:gpt-4o',
      judgeIndependence: 'different_model',
      examiner: 'openai:gpt-4o',
    });
  });

  it('records same_model when only one model is configured', () => {
    expect(examModels(set({ primary: openai }), openai)).toEqual({
      examiner: 'openai:gpt-4o-mini',
      answerer: 'openai:gpt-4o-mini',
      judge: 'openai:gpt-4o-mini',
      auditJudge: null,
      judgeIndependence: 'same_model',
      examinerIndependence: 'same_model',
    });
  });

  it('judges an agent answering with the fallback provider by the primary', () => {
    expect(examModels(set({ primary: openai, fallback: claude }), claude)).toMatchObject({
      judge: 'openai:gpt-4o-mini',
      judgeIndependence: 'independent_provider',
    });
  });
});

describe('sampledForAudit', () => {
  it('is deterministic per key and follows the rate', () => {
    const keys = Array.from({ length: 2000 }, (_, i) => `exam-${i}:0`);
    const picked = keys.filter((k) => sampledForAudit(k, 0.1));
    expect(picked.length).toBeGreaterThan(140);
    expect(picked.length).toBeLessThan(260);
    expect(keys.filter((k) => sampledForAudit(k, 0.1))).toEqual(picked);
    expect(keys.every((k) => sampledForAudit(k, 1))).toBe(true);
    expect(keys.some((k) => sampledForAudit(k, 0))).toBe(false);
  });
});

describe('agreementByJudge', () => {
  it('reports each model over the pairs it took part in, and flags low agreement once there are enough pairs', () => {
    const audits = [
      { judge: 'a', judgeScore: 90, auditor: 'b', auditScore: 20 },
      { judge: 'a', judgeScore: 20, auditor: 'b', auditScore: 90 },
      { judge: 'a', judgeScore: 60, auditor: 'b', auditScore: 60 },
    ];
    const a = agreementByJudge(audits)[0] as JudgeAgreement;
    expect(a).toMatchObject({ model: 'a', pairs: 3, meanAbsoluteDifference: (70 + 70 + 0) / 3 });
    expect(a.alpha ?? 1).toBeLessThan(0);
    expect(agreementTooLow(a, 0.667, 3)).toBe(true);
    expect(agreementTooLow(a, 0.667, 4)).toBe(false);
  });
});

describe('judge agreement configuration', () => {
  it('refuses an audit sample rate outside 0–1 and defaults to 0.1', () => {
    expect(configProblems({ CUSTODY_AUDIT_SAMPLE_RATE: '1.5' })).toEqual([
      expect.stringMatching(/^CUSTODY_AUDIT_SAMPLE_RATE: /),
    ]);
    expect(configProblems({ CUSTODY_AUDIT_SAMPLE_RATE: '-0.1' })).toEqual([
      expect.stringMatching(/^CUSTODY_AUDIT_SAMPLE_RATE: /),
    ]);
    expect(configProblems({ CUSTODY_JUDGE_MIN_ALPHA: '2' })).toEqual([
      expect.stringMatching(/^CUSTODY_JUDGE_MIN_ALPHA: /),
    ]);
    expect(loadConfig({}).judges).toEqual({ auditSampleRate: 0.1, minAlpha: 0.667, minPairs: 5, windowDays: 30 });
  });
});
