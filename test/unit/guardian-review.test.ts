import {
  guardianVerdict,
  modelReviewOutcome,
  proposalModelReview,
  type ModelReview,
} from '../../src/domain/guardian-review';

const reviewed = (...severities: string[]): ModelReview => ({
  summary: 'read it',
  concerns: severities.map((severity) => ({ severity, file: 'src/a.js', message: `${severity} thing` })),
  provider: 'openai',
  model: 'gpt-4o-mini',
});
const unavailable: ModelReview = { unavailable: 'LlmBadOutput: not JSON' };
const secret = {
  tool: 'secretlint',
  rule: 'aws',
  severity: 'high',
  title: 'AWS key',
  message: 'a key',
  file: 'src/keys.js',
  line: 3,
};

it('names the model review passed, concerns or unavailable (with the reason); null before Guardian reviewed', () => {
  expect(modelReviewOutcome(reviewed())).toEqual({ state: 'passed', reason: null, concerns: 0 });
  expect(modelReviewOutcome(reviewed('low', 'medium'))).toEqual({ state: 'concerns', reason: null, concerns: 2 });
  expect(modelReviewOutcome(unavailable)).toEqual({
    state: 'unavailable',
    reason: 'LlmBadOutput: not JSON',
    concerns: 0,
  });
  expect(modelReviewOutcome(undefined)).toBeNull();
  // A row stored before the state was recorded reads the same from its `model` entry.
  expect(proposalModelReview({ scan: {}, model: unavailable, blocked: false })).toMatchObject({ state: 'unavailable' });
  expect(proposalModelReview(null)).toBeNull();
});

it('blocks on a high scanner finding or a high/critical model concern, not on low or medium ones', () => {
  expect(guardianVerdict([], reviewed('low', 'medium'), false)).toEqual({ blocked: false, reasons: [] });
  expect(guardianVerdict([], reviewed('critical'), false)).toEqual({
    blocked: true,
    reasons: ['critical concern in src/a.js: critical thing'],
  });
  expect(guardianVerdict([secret], reviewed(), false)).toEqual({
    blocked: true,
    reasons: ['high secretlint finding in src/keys.js:3: AWS key'],
  });
});

it('lets an unavailable model review through only when PROPOSAL_REQUIRE_MODEL_REVIEW is off', () => {
  expect(guardianVerdict([], unavailable, false)).toEqual({ blocked: false, reasons: [] });
  expect(guardianVerdict([], unavailable, true)).toEqual({
    blocked: true,
    reasons: [
      "Guardian's model review was unavailable and PROPOSAL_REQUIRE_MODEL_REVIEW is on: LlmBadOutput: not JSON",
    ],
  });
  // The scanners still gate either way.
  expect(guardianVerdict([secret], unavailable, false).blocked).toBe(true);
});
