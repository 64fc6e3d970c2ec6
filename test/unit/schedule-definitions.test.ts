import { loadConfig } from '../../src/config';
import { scheduleDefinitions } from '../../src/temporal/schedule-definitions';

it('defines one custody exam schedule per agent at CUSTODY_TEST_INTERVAL on the default task queue', () => {
  const defs = scheduleDefinitions(loadConfig({ CUSTODY_TEST_INTERVAL: '1800', TEMPORAL_TASK_QUEUE: 'q' }));
  expect(defs.map((d) => d.id)).toEqual(['custody-imperium', 'custody-guardian', 'custody-sandbox', 'custody-conquest']);
  for (const d of defs) {
    expect(d).toMatchObject({ workflowType: 'custodyExamWorkflow', intervalSeconds: 1800, taskQueue: 'q' });
    expect(d.args).toEqual([{ agentId: d.id.replace('custody-', ''), trigger: 'schedule' }]);
  }
});
