import { bestProposalCandidate, isActionable, weakestCategories, type FindingForProposal } from '../../src/domain';

describe('weakestCategories', () => {
  it('orders by rating, then pass rate (never examined counts as 0), then the listed order', () => {
    expect(
      weakestCategories('guardian', [
        { category: 'security_awareness', rating: 1250, passRate: 1, exams: 3 },
        { category: 'code_quality', rating: 1180, passRate: 0.5, exams: 2 },
        { category: 'performance_optimization', rating: 1250, passRate: null, exams: 0 },
      ]),
    ).toEqual(['code_quality', 'performance_optimization', 'security_awareness']);
  });

  it('treats a missing standing as 1200 and ignores categories the agent does not take', () => {
    expect(
      weakestCategories('conquest', [
        { category: 'security_awareness', rating: 100, passRate: 0, exams: 9 },
        { category: 'code_quality', rating: 1300, passRate: 1, exams: 4 },
      ]),
    ).toEqual(['performance_optimization', 'innovation_capability', 'code_quality']);
  });
});

describe('proposal candidates', () => {
  const f = (over: Partial<FindingForProposal>): FindingForProposal => ({
    id: 'f',
    agentId: 'guardian',
    kind: 'security',
    severity: 'high',
    status: 'open',
    triageVerdict: null,
    proposed: false,
    ...over,
  });

  it('needs an open, unproposed finding not triaged as a false positive', () => {
    expect(isActionable(f({}))).toBe(true);
    expect(isActionable(f({ status: 'resolved' }))).toBe(false);
    expect(isActionable(f({ status: 'dismissed' }))).toBe(false);
    expect(isActionable(f({ proposed: true }))).toBe(false);
    expect(isActionable(f({ triageVerdict: 'false_positive' }))).toBe(false);
  });

  it('skips low security findings unless triage confirmed them; experiments and performance count at any severity', () => {
    expect(isActionable(f({ severity: 'low' }))).toBe(false);
    expect(isActionable(f({ severity: 'low', triageVerdict: 'true_positive' }))).toBe(true);
    expect(isActionable(f({ kind: 'experiment', severity: 'low' }))).toBe(true);
    expect(isActionable(f({ kind: 'performance', severity: 'low' }))).toBe(true);
  });

  it('picks the most severe actionable finding, the first on ties', () => {
    const findings = [
      f({ id: 'a', severity: 'medium' }),
      f({ id: 'b', severity: 'critical', triageVerdict: 'false_positive' }),
      f({ id: 'c', severity: 'high' }),
      f({ id: 'd', severity: 'high' }),
    ];
    expect(bestProposalCandidate(findings)?.id).toBe('c');
    expect(bestProposalCandidate([f({ status: 'resolved' })])).toBeNull();
  });
});
