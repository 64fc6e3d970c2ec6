import { summarizeProfile, type CpuProfile } from '../../bench/cpuprofile';

/** The profile summary behind `npm run bench:profile`: self/total per function and per component. */
describe('bench cpuprofile summary', () => {
  // (root) → authenticate (middleware auth) → query (pg); (root) → GC. One sample every 10 µs.
  const profile: CpuProfile = {
    startTime: 0,
    endTime: 40,
    samples: [3, 3, 2, 4],
    timeDeltas: [0, 10, 10, 10],
    nodes: [
      { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: -1 }, children: [2, 4] },
      {
        id: 2,
        callFrame: { functionName: 'authenticate', url: 'file:///repo/dist/src/api/middleware/auth.js', lineNumber: 9 },
        children: [3, 5],
      },
      {
        id: 3,
        callFrame: { functionName: 'query', url: 'file:///elsewhere/node_modules/pg/lib/client.js', lineNumber: 0 },
      },
      { id: 4, callFrame: { functionName: '(garbage collector)', url: '', lineNumber: -1 } },
      {
        id: 5,
        callFrame: { functionName: 'authenticate', url: 'file:///repo/dist/src/api/middleware/auth.js', lineNumber: 9 },
      },
    ],
  };

  it('gives each sample the time until the next one, self to the top frame, total once per stack', () => {
    const s = summarizeProfile({ ...profile, samples: [3, 5, 2, 4] }, { root: '/repo' });
    expect(s.sampled).toBe(40);
    const fn = Object.fromEntries(s.functions.map((e) => [e.name, e]));
    expect(fn['query pg/lib/client.js:1']).toMatchObject({ self: 10, total: 10 });
    // Recursion (node 5 under node 2, the same function) counts once in total.
    expect(fn['authenticate dist/src/api/middleware/auth.js:10']).toMatchObject({ self: 20, total: 30 });
    expect(fn['(garbage collector)']).toMatchObject({ self: 10, total: 10 });
    const comp = Object.fromEntries(s.components.map((e) => [e.name, e]));
    expect(comp['middleware auth']).toMatchObject({ self: 20, total: 30 });
    expect(comp['pkg pg']).toMatchObject({ self: 10, total: 10 });
  });

  it('keeps only the samples inside the window', () => {
    const s = summarizeProfile(profile, { root: '/repo', window: { from: 15, to: 40 } });
    expect(s.sampled).toBe(20);
    expect(s.functions.map((e) => e.name).sort()).toEqual([
      '(garbage collector)',
      'authenticate dist/src/api/middleware/auth.js:10',
    ]);
  });
});
