import { randomBytes } from 'node:crypto';
import { loadConfig } from '../../src/config';
import { proposalWorkflowId, reviewShapeProblem } from '../../src/contracts';
import {
  NO_REVIEW_KEY_MESSAGE,
  reviewSignatureProblem,
  reviewSigningKey,
  signReview,
} from '../../src/crypto/review-signature';

const MINUTE = 60_000;
const wf = proposalWorkflowId('7f1c2a9e-0000-4000-8000-000000000001');
const now = Date.parse('2026-12-02T12:00:00.000Z');
const key = randomBytes(32);
const claims = {
  workflowId: wf,
  decision: 'approve' as const,
  reviewer: 'reviewer-ops',
  comment: '  Good catch.  ',
  issuedAt: new Date(now - MINUTE).toISOString(),
};

describe('review signatures', () => {
  it('accepts a review signed with the key for this workflow, decision, reviewer and comment, within the max age', () => {
    const signed = signReview(key, claims);
    expect(signed).toMatchObject({
      decision: 'approve',
      reviewer: 'reviewer-ops',
      comment: 'Good catch.',
      issuedAt: claims.issuedAt,
      signature: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(reviewSignatureProblem(key, wf, signed, now, 10 * MINUTE)).toBeUndefined();
    // The comment is compared normalized, as it is stored: a missing comment and an empty one are the same.
    const bare = signReview(key, { ...claims, comment: '' });
    expect(reviewSignatureProblem(key, wf, { ...bare, comment: null }, now, 10 * MINUTE)).toBeUndefined();
  });

  it('refuses a change to any signed field, another key, another workflow, and a bad signature', () => {
    const signed = signReview(key, claims);
    const refused = (r: object, k = key, workflowId = wf) => reviewSignatureProblem(k, workflowId, r, now, 10 * MINUTE);
    expect(refused({ ...signed, decision: 'reject' })).toMatch(/does not match/);
    expect(refused({ ...signed, reviewer: 'admin' })).toMatch(/does not match/);
    expect(refused({ ...signed, comment: 'Ship it.' })).toMatch(/does not match/);
    expect(refused({ ...signed, issuedAt: new Date(now).toISOString() })).toMatch(/does not match/);
    expect(refused(signed, randomBytes(32))).toMatch(/does not match/);
    expect(refused(signed, key, proposalWorkflowId('7f1c2a9e-0000-4000-8000-000000000002'))).toMatch(/does not match/);
    expect(refused({ ...signed, signature: signed.signature.replace(/^./, (c) => (c === '0' ? '1' : '0')) })).toMatch(
      /does not match/,
    );
    expect(refused({ ...signed, signature: undefined })).toMatch(/not signed/);
    expect(refused({ ...signed, signature: 'A'.repeat(64) })).toMatch(/malformed/);
    expect(refused({ ...signed, signature: signed.signature.slice(2) })).toMatch(/malformed/);
  });

  it('refuses a stale review, one issued in the future beyond the skew, and one without a valid time', () => {
    const at = (ms: number) => signReview(key, { ...claims, issuedAt: new Date(ms).toISOString() });
    expect(reviewSignatureProblem(key, wf, at(now - 11 * MINUTE), now, 10 * MINUTE)).toMatch(/stale/);
    expect(reviewSignatureProblem(key, wf, at(now - 9 * MINUTE), now, 10 * MINUTE)).toBeUndefined();
    expect(reviewSignatureProblem(key, wf, at(now + 30_000), now, 10 * MINUTE)).toBeUndefined();
    expect(reviewSignatureProblem(key, wf, at(now + 2 * MINUTE), now, 10 * MINUTE)).toMatch(/future/);
    expect(reviewShapeProblem({ ...at(now), issuedAt: 'yesterday' }, now, 10 * MINUTE)).toMatch(/issuedAt/);
    expect(reviewShapeProblem({ ...at(now), issuedAt: String(now) }, now, 10 * MINUTE)).toMatch(/issuedAt/);
    expect(reviewShapeProblem(null, now, 10 * MINUTE)).toMatch(/object/);
    expect(reviewShapeProblem({ ...at(now), reviewer: '' }, now, 10 * MINUTE)).toMatch(/reviewer/);
  });

  it('derives the key from REVIEW_SIGNING_KEY, else DATA_ENCRYPTION_KEY; production refuses to start without either', () => {
    const secret = 'x'.repeat(40);
    const dataKey = randomBytes(32).toString('hex');
    const own = reviewSigningKey(
      loadConfig({ NODE_ENV: 'production', REVIEW_SIGNING_KEY: secret, DATA_ENCRYPTION_KEY: dataKey }),
    );
    const derived = reviewSigningKey(loadConfig({ NODE_ENV: 'production', DATA_ENCRYPTION_KEY: dataKey }));
    expect(own.source).toBe('REVIEW_SIGNING_KEY');
    expect(derived.source).toBe('DATA_ENCRYPTION_KEY');
    expect(own.key).toHaveLength(32);
    expect(own.key.equals(derived.key)).toBe(false);
    // Never the raw secret itself.
    expect(derived.key.equals(Buffer.from(dataKey, 'hex'))).toBe(false);
    expect(() => reviewSigningKey(loadConfig({ NODE_ENV: 'production' }))).toThrow(NO_REVIEW_KEY_MESSAGE);
    expect(reviewSigningKey(loadConfig({ NODE_ENV: 'development' })).source).toBe('development default');
    expect(loadConfig({}).proposals.reviewMaxAgeSeconds).toBe(600);
  });
});
