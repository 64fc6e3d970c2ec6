import { randomBytes, randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { PROPOSAL_WORKFLOW, proposalBranch, proposalWorkflowId } from '../../src/contracts';
import {
  AuditLog,
  Finding,
  Proposal,
  ProposalEvent,
  Repository,
  type FindingStatus,
  type ProposalReview,
  type ProposalState,
} from '../../src/db/entities';
import type { AgentId } from '../../src/domain/agents';
import { endClosedProposal } from '../../src/db/proposals';
import { createTemporalClient } from '../../src/temporal/client';
import { startTestApi, type TestApi } from '../helpers/api';
import { testConfig } from '../helpers/config';
import type { Config } from '../../src/config';
import { activityTimeouts } from '../../src/temporal/activity-timeouts';
import { createTestDatabase, type TestDatabase } from '../helpers/database';

// No worker polls this queue: a started proposal workflow stays RUNNING until the test terminates it.
const TASK_QUEUE = `api-proposals-${randomBytes(4).toString('hex')}`;
let db: TestDatabase;
let api: TestApi;
let temporal: Client;
let repositoryId: string;
let viewer: string;
let operator: string;
let otherOperator: string;
let config: Config;

beforeAll(async () => {
  db = await createTestDatabase();
  config = testConfig(db.url, { TEMPORAL_TASK_QUEUE: TASK_QUEUE, RATE_LIMIT_MAX: '10000' });
  api = await startTestApi(config);
  temporal = createTemporalClient(config.temporal);
  [viewer, operator, otherOperator] = await Promise.all([
    api.key('viewer'),
    api.key('operator', 'ops'),
    api.key('operator', 'other-ops'),
  ]);
  const repository = new Repository({ name: 'example', path: `/tmp/example-${randomUUID()}`, testCmd: 'npm test' });
  await api.orm.em.fork().persistAndFlush(repository);
  repositoryId = repository.id;
});
afterAll(async () => {
  await temporal.connection.close();
  await api.close();
  await db.drop();
});

interface ProposalSpec {
  agentId: AgentId;
  status: ProposalState;
  findingId?: string;
  createdAt?: Date;
  review?: ProposalReview;
  commit?: string;
  guardianReview?: Record<string, unknown>;
}

async function insertProposal(
  spec: ProposalSpec,
  events: Array<{ seq: number; state: ProposalState; detail: string }> = [],
): Promise<Proposal> {
  const em = api.orm.em.fork();
  const id = randomUUID();
  const proposal = new Proposal({
    id,
    workflowId: proposalWorkflowId(id),
    agentId: spec.agentId,
    findingId: spec.findingId ?? null,
    goal: spec.findingId ? null : 'tidy the parser',
    trigger: 'api',
    requestedBy: 'ops',
  });
  Object.assign(proposal, {
    status: spec.status,
    title: 'Tidy the parser',
    diff: '--- a/src/parser.ts\n+++ b/src/parser.ts\n@@ -1 +1 @@\n-a\n+b\n',
    changedFiles: ['src/parser.ts'],
    changedLines: 2,
    review: spec.review ?? null,
    commit: spec.commit ?? null,
    guardianReview: spec.guardianReview ?? null,
    branch: spec.commit ? proposalBranch(id) : null,
    ...(spec.createdAt && { createdAt: spec.createdAt }),
  });
  em.persist(proposal);
  for (const e of events)
    em.persist(
      new ProposalEvent({ proposalId: id, seq: e.seq, state: e.state, detail: e.detail, data: { seq: e.seq } }),
    );
  await em.flush();
  return proposal;
}

async function insertFinding(status: FindingStatus): Promise<Finding> {
  const finding = new Finding({
    repositoryId,
    agentId: 'guardian',
    kind: 'security',
    tool: 'semgrep',
    rule: 'no-eval',
    severity: 'high',
    title: 'eval of user input',
    message: 'eval() on request data',
    file: 'src/app.ts',
    line: 3,
    fingerprint: randomBytes(16).toString('hex'),
    firstRunId: randomUUID(),
  });
  finding.status = status;
  await api.orm.em.fork().persistAndFlush(finding);
  return finding;
}

/** The input the workflow was started with, read from its first history event. */
async function startInput(workflowId: string): Promise<unknown> {
  const history = await temporal.workflow.getHandle(workflowId).fetchHistory();
  const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  return payload ? defaultPayloadConverter.fromPayload(payload) : undefined;
}

describe('POST /proposals', () => {
  it('answers 400 naming the field when the body has neither or both of goal and findingId, or an unknown agent', async () => {
    const cases: Array<[unknown, string]> = [
      [{ agentId: 'imperium' }, 'goal'],
      [{ agentId: 'imperium', goal: 'tidy', findingId: randomUUID() }, 'findingId'],
      [{ agentId: 'imperium', goal: '   ' }, 'goal'],
      [{ agentId: 'imperium', goal: 'x'.repeat(2001) }, 'goal'],
      [{ agentId: 'imperium', goal: 'tidy\u0000 the parser' }, 'goal'],
      [{ agentId: 'imperium', findingId: 'not-a-uuid' }, 'findingId'],
      [{ agentId: 'nobody', goal: 'tidy' }, 'agentId'],
    ];
    for (const [body, field] of cases) {
      const res = await api.request('POST', '/api/proposals', { key: operator, body });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({
        error: {
          code: 'invalid_request',
          message: expect.stringMatching(new RegExp(`^${field}: `)),
          details: [{ field }],
        },
      });
    }
  });

  it('answers 404 for an unknown finding and 409 for a finding that is not open', async () => {
    const unknown = await api.request('POST', '/api/proposals', {
      key: operator,
      body: { agentId: 'guardian', findingId: randomUUID() },
    });
    expect(unknown.status).toBe(404);
    const resolved = await insertFinding('resolved');
    const res = await api.request('POST', '/api/proposals', {
      key: operator,
      body: { agentId: 'guardian', findingId: resolved.id },
    });
    expect(res.status).toBe(409);
    expect(res.body).toEqual({
      error: {
        code: 'conflict',
        message: `finding ${resolved.id} is resolved, not open`,
        details: { status: 'resolved' },
      },
    });
  });

  it('answers 403 to a viewer', async () => {
    const res = await api.request('POST', '/api/proposals', {
      key: viewer,
      body: { agentId: 'imperium', goal: 'tidy the parser' },
    });
    expect(res.status).toBe(403);
  });

  it('starts the proposal workflow for a goal (202) with the ids, the input and an audit row', async () => {
    const res = await api.request('POST', '/api/proposals', {
      key: operator,
      body: { agentId: 'sandbox', goal: '  speed up the parser  ' },
    });
    expect(res.status).toBe(202);
    const { proposalId, workflowId } = res.body as { proposalId: string; workflowId: string };
    expect(res.body).toEqual({
      proposalId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      workflowId: `proposal-${proposalId}`,
      statusUrl: `/api/workflows/${workflowId}`,
      proposalUrl: `/api/proposals/${proposalId}`,
    });
    const handle = temporal.workflow.getHandle(workflowId);
    try {
      expect(await handle.describe()).toMatchObject({
        type: PROPOSAL_WORKFLOW,
        taskQueue: TASK_QUEUE,
        status: { name: 'RUNNING' },
      });
      expect(await startInput(workflowId)).toEqual({
        proposalId,
        agentId: 'sandbox',
        goal: 'speed up the parser',
        trigger: 'api',
        requestedBy: 'ops',
        timeouts: activityTimeouts(config),
      });
    } finally {
      await handle.terminate('test done');
    }
    const audit = await api.orm.em.fork().findOne(AuditLog, { target: `proposal:${proposalId}` });
    expect(audit).toMatchObject({ actorName: 'ops', action: 'POST /api/proposals', status: 202 });
  });

  it('starts the proposal workflow for an open finding (202) without checking eligibility', async () => {
    const finding = await insertFinding('open');
    const res = await api.request('POST', '/api/proposals', {
      key: operator,
      body: { agentId: 'conquest', findingId: finding.id },
    });
    expect(res.status).toBe(202);
    const { proposalId, workflowId } = res.body as { proposalId: string; workflowId: string };
    try {
      expect(await startInput(workflowId)).toEqual({
        proposalId,
        agentId: 'conquest',
        findingId: finding.id,
        trigger: 'api',
        requestedBy: 'ops',
        timeouts: activityTimeouts(config),
      });
    } finally {
      await temporal.workflow.getHandle(workflowId).terminate('test done');
    }
  });

  it('two concurrent requests for one open finding: one 202 whose proposal is recorded at once, one 409 naming it', async () => {
    const finding = await insertFinding('open');
    const request = () =>
      api.request('POST', '/api/proposals', { key: operator, body: { agentId: 'sandbox', findingId: finding.id } });
    const both = await Promise.all([request(), request()]);
    expect(both.map((r) => r.status).sort()).toEqual([202, 409]);
    const accepted = both.find((r) => r.status === 202)?.body as {
      proposalId: string;
      workflowId: string;
      proposalUrl: string;
    };
    try {
      expect(both.find((r) => r.status === 409)?.body).toEqual({
        error: {
          code: 'conflict',
          message: `finding ${finding.id} already has proposal ${accepted.proposalId} (drafting)`,
          details: { proposalId: accepted.proposalId, workflowId: accepted.workflowId, status: 'drafting' },
        },
      });
      expect(await api.request('GET', accepted.proposalUrl, { key: viewer })).toMatchObject({
        status: 200,
        body: { id: accepted.proposalId, findingId: finding.id, status: 'drafting' },
      });
      expect(await api.orm.em.fork().count(Proposal, { findingId: finding.id })).toBe(1);
    } finally {
      await temporal.workflow.getHandle(accepted.workflowId).terminate('test done');
      await endClosedProposal(api.orm, accepted.proposalId, 'cancelled', 'test done'); // as the reconciler would
    }
  });
});

describe('GET /proposals', () => {
  it('lists proposals newest first, without the diff, filtered by status, agent and finding, paginated', async () => {
    const findingId = randomUUID();
    const at = (minutes: number) => new Date(Date.UTC(2026, 0, 1, 12, minutes));
    // One finding has at most one live proposal (a database constraint): the others here have ended.
    const rejected = await insertProposal({ agentId: 'sandbox', status: 'rejected', findingId, createdAt: at(0) });
    const awaiting = await insertProposal({
      agentId: 'sandbox',
      status: 'awaiting_review',
      findingId,
      createdAt: at(1),
    });
    const applied = await insertProposal({
      agentId: 'sandbox',
      status: 'applied',
      findingId,
      createdAt: at(2),
      commit: 'c0ffee',
    });
    const other = await insertProposal({ agentId: 'conquest', status: 'expired', findingId, createdAt: at(3) });
    const ids = (res: { body: unknown }) => (res.body as { items: Array<{ id: string }> }).items.map((p) => p.id);

    const first = await api.request('GET', `/api/proposals?findingId=${findingId}&limit=2`, { key: viewer });
    expect(first.body).toMatchObject({ page: { limit: 2, offset: 0, total: 4 } });
    expect(ids(first)).toEqual([other.id, applied.id]);
    const second = await api.request('GET', `/api/proposals?findingId=${findingId}&limit=2&offset=2`, { key: viewer });
    expect(ids(second)).toEqual([awaiting.id, rejected.id]);

    const item = (first.body as { items: Array<Record<string, unknown>> }).items[1];
    expect(item).toMatchObject({
      id: applied.id,
      agentId: 'sandbox',
      status: 'applied',
      findingId,
      title: 'Tidy the parser',
      changedFiles: ['src/parser.ts'],
      changedLines: 2,
      commit: 'c0ffee',
      branch: proposalBranch(applied.id),
      createdAt: at(2).toISOString(),
      completedAt: null,
    });
    expect(item).not.toHaveProperty('diff');

    const bySandbox = await api.request('GET', `/api/proposals?findingId=${findingId}&agent=sandbox`, { key: viewer });
    expect(ids(bySandbox)).toEqual([applied.id, awaiting.id, rejected.id]);
    const byBoth = await api.request(
      'GET',
      `/api/proposals?findingId=${findingId}&agent=sandbox&status=awaiting_review`,
      { key: viewer },
    );
    expect(byBoth.body).toMatchObject({ items: [{ id: awaiting.id }], page: { total: 1 } });
  });

  it('answers 400 for an unknown status or agent and a limit over 100', async () => {
    for (const query of ['status=merged', 'agent=nobody', 'limit=101']) {
      expect((await api.request('GET', `/api/proposals?${query}`, { key: viewer })).status).toBe(400);
    }
  });
});

describe('GET /proposals/:id', () => {
  it('serves the whole proposal with its timeline in order, by id or by workflow id', async () => {
    const proposal = await insertProposal({ agentId: 'imperium', status: 'validating' }, [
      { seq: 2, state: 'validating', detail: 'checking the diff' },
      { seq: 1, state: 'drafting', detail: 'drafting' },
    ]);
    for (const id of [proposal.id, proposal.workflowId]) {
      const res = await api.request('GET', `/api/proposals/${id}`, { key: viewer });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        id: proposal.id,
        workflowId: proposal.workflowId,
        status: 'validating',
        goal: 'tidy the parser',
        diff: proposal.diff,
        validation: null,
        tests: null,
        guardianReview: null,
        guardianModelReview: null,
        guardianModelReviewReason: null,
        review: null,
        eligibility: null,
        error: null,
        timeline: [
          { seq: 1, state: 'drafting', detail: 'drafting', data: { seq: 1 }, at: expect.any(String) },
          { seq: 2, state: 'validating', detail: 'checking the diff', data: { seq: 2 }, at: expect.any(String) },
        ],
      });
    }
  });

  it("says when Guardian's model review was unavailable, with the reason, also for a row stored before the state was", async () => {
    const reason = 'LlmProviderUnavailable: fake openai error 503';
    const proposal = await insertProposal({
      agentId: 'imperium',
      status: 'awaiting_review',
      guardianReview: {
        scan: { newFindings: [], tools: [] },
        model: { unavailable: reason },
        blocked: false,
        reasons: [],
      },
    });
    const detail = await api.request('GET', `/api/proposals/${proposal.id}`, { key: viewer });
    expect(detail.body).toMatchObject({ guardianModelReview: 'unavailable', guardianModelReviewReason: reason });
    const list = await api.request('GET', '/api/proposals?agent=imperium&status=awaiting_review', { key: viewer });
    expect((list.body as { items: unknown[] }).items).toContainEqual(
      expect.objectContaining({
        id: proposal.id,
        guardianModelReview: 'unavailable',
        guardianModelReviewReason: reason,
      }),
    );
  });

  it('answers 404 for an unknown id or workflow id', async () => {
    for (const id of [randomUUID(), proposalWorkflowId(randomUUID())]) {
      const res = await api.request('GET', `/api/proposals/${id}`, { key: viewer });
      expect(res.status).toBe(404);
      expect(res.body).toMatchObject({ error: { code: 'not_found' } });
    }
  });
});

describe('POST /proposals/:id/review', () => {
  const review = (comment: string | null): ProposalReview => ({
    decision: 'approve',
    reviewer: 'ops',
    comment,
    at: new Date().toISOString(),
  });

  it('answers 409 when the proposal is not awaiting review', async () => {
    for (const status of ['applied', 'drafting'] as const) {
      const proposal = await insertProposal({ agentId: 'imperium', status });
      const res = await api.request('POST', `/api/proposals/${proposal.id}/review`, {
        key: operator,
        body: { decision: 'approve' },
      });
      expect(res.status).toBe(409);
      expect(res.body).toEqual({
        error: { code: 'conflict', message: `proposal is ${status}, not awaiting_review`, details: { status } },
      });
    }
  });

  it('answers 200 with the current state to an identical repeat of the recorded review, without asking the workflow', async () => {
    // No workflow exists for this row: an answer that needed Temporal would be a 409.
    const proposal = await insertProposal({
      agentId: 'imperium',
      status: 'applied',
      review: review('Looks good'),
      commit: 'abc1234',
    });
    const res = await api.request('POST', `/api/proposals/${proposal.workflowId}/review`, {
      key: operator,
      body: { decision: 'approve', comment: '  Looks good ' },
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      proposalId: proposal.id,
      decision: 'approve',
      status: 'applied',
      commit: 'abc1234',
      branch: proposalBranch(proposal.id),
      reason: null,
    });
  });

  it('answers 409 to a review that differs from the recorded one in comment, decision or reviewer', async () => {
    const proposal = await insertProposal({
      agentId: 'imperium',
      status: 'applied',
      review: review(null),
      commit: 'abc1234',
    });
    const path = `/api/proposals/${proposal.id}/review`;
    expect(
      (await api.request('POST', path, { key: operator, body: { decision: 'approve', comment: '' } })).status,
    ).toBe(200);
    for (const [key, body] of [
      [operator, { decision: 'approve', comment: 'Different' }],
      [operator, { decision: 'reject', comment: null }],
      [otherOperator, { decision: 'approve' }],
    ] as const) {
      const res = await api.request('POST', path, { key, body });
      expect(res.status).toBe(409);
      expect(res.body).toMatchObject({ error: { message: 'proposal is applied, not awaiting_review' } });
    }
  });

  it('answers 409 when the proposal awaits review but its workflow is not running', async () => {
    const proposal = await insertProposal({ agentId: 'imperium', status: 'awaiting_review' });
    const res = await api.request('POST', `/api/proposals/${proposal.id}/review`, {
      key: operator,
      body: { decision: 'reject', comment: 'no' },
    });
    expect(res.status).toBe(409);
    expect(res.body).toEqual({
      error: { code: 'conflict', message: `the workflow of proposal ${proposal.id} is not running` },
    });
  });

  it('answers 403 to a viewer, 404 for an unknown proposal and 400 for an unknown decision', async () => {
    const proposal = await insertProposal({ agentId: 'imperium', status: 'awaiting_review' });
    expect(
      (
        await api.request('POST', `/api/proposals/${proposal.id}/review`, {
          key: viewer,
          body: { decision: 'approve' },
        })
      ).status,
    ).toBe(403);
    expect(
      (
        await api.request('POST', `/api/proposals/${randomUUID()}/review`, {
          key: operator,
          body: { decision: 'approve' },
        })
      ).status,
    ).toBe(404);
    const bad = await api.request('POST', `/api/proposals/${proposal.id}/review`, {
      key: operator,
      body: { decision: 'maybe' },
    });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error: { details: [{ field: 'decision' }] } });
  });
});

describe('GET /custody/eligibility/:agentId', () => {
  it("counts the agent's open proposals and refuses at five", async () => {
    const before = await api.request('GET', '/api/custody/eligibility/guardian', { key: viewer });
    expect(before.body).toMatchObject({
      openProposals: 0,
      checks: expect.arrayContaining([expect.objectContaining({ rule: 'open_proposals', ok: true })]),
    });
    for (const status of [
      'drafting',
      'validating',
      'testing',
      'awaiting_review',
      'applying',
      'applied',
      'rejected',
    ] as const)
      await insertProposal({ agentId: 'guardian', status });
    const after = await api.request('GET', '/api/custody/eligibility/guardian', { key: viewer });
    expect(after.body).toMatchObject({
      agentId: 'guardian',
      openProposals: 5,
      eligible: false,
      reasons: expect.arrayContaining(['has 5 open proposals (allows fewer than 5)']),
    });
  });
});
