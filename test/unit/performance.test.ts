import { parseBenchOutput, performanceVerdict } from '../../src/domain/performance';

describe('performance rules', () => {
  it('flags a measure more than 20 % slower than the median of the last 5', () => {
    expect(performanceVerdict([100, 100, 100, 100, 100], 120)).toMatchObject({ baselineMs: 100, regressed: false });
    expect(performanceVerdict([100, 100, 100, 100, 100], 120.1)).toMatchObject({ regressed: true });
    // Only the last five count: the slow early runs are out of the window.
    expect(performanceVerdict([500, 500, 100, 100, 100, 100, 100], 130)).toMatchObject({ baselineMs: 100, regressed: true });
    expect(performanceVerdict([], 999)).toEqual({ baselineMs: null, currentMs: 999, change: null, regressed: false });
  });

  it('reads {"name","ms"} lines and ignores everything else', () => {
    expect(parseBenchOutput('warming up\n{"name":"a","ms":12.5}\n{"name":"b"}\n{bad json\n{"name":"c","ms":-1}\n{"name":"d","ms":3}\n')).toEqual([
      { name: 'a', ms: 12.5 },
      { name: 'd', ms: 3 },
    ]);
  });
});
