import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import type { Config } from '../config';
import { normalizeComment, reviewShapeProblem, type ReviewInput } from '../contracts/proposals';
import { parseEncryptionKey } from './secrets';

/**
 * Signed reviews (ARCHITECTURE §3.6 step 6): the API signs every `review` Update it sends with HMAC-SHA256 over the
 * workflow id, decision, reviewer (the API key's name), normalized comment and issued-at time; the worker verifies it
 * before the review is taken, so a review sent straight to the Temporal frontend cannot approve a proposal. Pure
 * functions (no I/O), shared by the API and the worker.
 */

const VERSION = 'lvlup-review-v1';
const HKDF_INFO = 'lvlup review signature v1';
/**
 * Outside production, without REVIEW_SIGNING_KEY or DATA_ENCRYPTION_KEY, API and worker derive this shared default:
 * it is public, so it only ever proves that a review went through code that signs it, never who sent it.
 */
const DEV_DEFAULT_SECRET = 'lvlup development review signing key (public; never used in production)';

export const NO_REVIEW_KEY_MESSAGE =
  'REVIEW_SIGNING_KEY is not set (nor DATA_ENCRYPTION_KEY to derive it from): under NODE_ENV=production reviews must be signed with a secret key. Set REVIEW_SIGNING_KEY to at least 32 random characters (e.g. `openssl rand -hex 32`), the same on the API and the workers, and restart.';

export type ReviewKeySource = 'REVIEW_SIGNING_KEY' | 'DATA_ENCRYPTION_KEY' | 'development default';

/**
 * The review signing key: HKDF-SHA256 of REVIEW_SIGNING_KEY, else of DATA_ENCRYPTION_KEY, else (not in production) of
 * a public development default. Throws under NODE_ENV=production without either variable: the API and the worker
 * call it when they start, so they refuse to start rather than accept unsigned reviews.
 */
export function reviewSigningKey(config: {
  env: Config['env'];
  proposals: Pick<Config['proposals'], 'reviewSigningKey'>;
  encryption: Pick<Config['encryption'], 'key'>;
}): { key: Buffer; source: ReviewKeySource } {
  const derive = (ikm: Buffer) => Buffer.from(hkdfSync('sha256', ikm, Buffer.alloc(0), HKDF_INFO, 32));
  if (config.proposals.reviewSigningKey !== undefined)
    return { key: derive(Buffer.from(config.proposals.reviewSigningKey, 'utf8')), source: 'REVIEW_SIGNING_KEY' };
  if (config.encryption.key !== undefined)
    return { key: derive(parseEncryptionKey(config.encryption.key)), source: 'DATA_ENCRYPTION_KEY' };
  if (config.env === 'production') throw new Error(NO_REVIEW_KEY_MESSAGE);
  return { key: derive(Buffer.from(DEV_DEFAULT_SECRET, 'utf8')), source: 'development default' };
}

/** What a signature covers. */
export interface ReviewClaims {
  workflowId: string;
  decision: 'approve' | 'reject';
  reviewer: string;
  comment?: string | null;
  /** ISO 8601 */
  issuedAt: string;
}

function mac(key: Buffer, c: ReviewClaims): Buffer {
  // A JSON array: unambiguous field boundaries whatever the fields contain.
  const message = JSON.stringify([
    VERSION,
    c.workflowId,
    c.decision,
    c.reviewer,
    normalizeComment(c.comment),
    c.issuedAt,
  ]);
  return createHmac('sha256', key).update(message, 'utf8').digest();
}

/** The review Update's input for `claims`, signed: the decision, reviewer and comment plus issuedAt and signature. */
export function signReview(key: Buffer, claims: ReviewClaims): ReviewInput {
  return {
    decision: claims.decision,
    reviewer: claims.reviewer,
    comment: normalizeComment(claims.comment),
    issuedAt: claims.issuedAt,
    signature: mac(key, claims).toString('hex'),
  };
}

/**
 * Why a review for workflow `workflowId` must be refused (undefined: it is genuine and fresh): malformed, issued
 * more than `maxAgeMs` before `nowMs` (or in the future, beyond a minute of clock skew), or a signature that does
 * not match — which covers a forged one, one made with another key, and one made for another proposal, decision,
 * reviewer or comment. Constant-time comparison.
 */
export function reviewSignatureProblem(
  key: Buffer,
  workflowId: string,
  review: Partial<ReviewInput>,
  nowMs: number,
  maxAgeMs: number,
): string | undefined {
  const shape = reviewShapeProblem(review, nowMs, maxAgeMs);
  if (shape !== undefined) return shape;
  const r = review as ReviewInput;
  const expected = mac(key, {
    workflowId,
    decision: r.decision,
    reviewer: r.reviewer,
    comment: r.comment,
    issuedAt: r.issuedAt,
  });
  const given = Buffer.from(r.signature, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    return 'the review signature does not match (not signed by the API with this server key, or signed for another proposal, decision, reviewer or comment)';
  return undefined;
}
