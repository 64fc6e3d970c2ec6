import { createActivities, type ActivityDeps } from '../../activities';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/logger';
import { ACTIVITY_QUEUE_KINDS, activityQueues, QUEUE_KINDS, queueKindOf } from '../../src/contracts';
import { activitiesFor, tuningOptions } from '../../src/temporal/worker';

/** Every activity the worker registers, built over dependencies nothing here calls. */
function allActivities() {
  const unused = {} as never;
  const config = loadConfig({ LOG_LEVEL: 'error' });
  const deps: ActivityDeps = {
    config,
    orm: unused,
    logger: createLogger(config.log),
    metrics: unused,
    llm: unused,
    sandbox: unused,
    temporal: unused,
  };
  return createActivities(deps);
}

describe('task queues', () => {
  it('classifies every activity createActivities makes, and nothing else', () => {
    expect(Object.keys(ACTIVITY_QUEUE_KINDS).sort()).toEqual(Object.keys(allActivities()).sort());
  });

  it('derives the kind queues from the base queue', () => {
    expect(activityQueues('lvlup')).toEqual({ workflows: 'lvlup', llm: 'lvlup-llm', sandbox: 'lvlup-sandbox' });
    expect(activityQueues('test-1a2b')).toEqual({
      workflows: 'test-1a2b',
      llm: 'test-1a2b-llm',
      sandbox: 'test-1a2b-sandbox',
    });
  });

  it("routes an exam item's grading by its kind and an unclassified activity to the workflow's queue", () => {
    expect(queueKindOf('custodyGradeItem', 'code')).toBe('sandbox');
    expect(queueKindOf('custodyGradeItem', 'open')).toBe('llm');
    expect(queueKindOf('custodyAnswerItem')).toBe('llm');
    expect(queueKindOf('guardianScan')).toBe('sandbox');
    expect(queueKindOf('custodyPlan')).toBe('workflows');
    expect(queueKindOf('aTestOnlyActivity')).toBe('workflows');
    expect(queueKindOf('toString')).toBe('workflows');
  });

  it("registers on each kind's worker the activities of its kind; the workflows worker also those of the other kinds polled in its process", () => {
    const activities = allActivities();
    const names = (kind: (typeof QUEUE_KINDS)[number], polled: readonly (typeof QUEUE_KINDS)[number][]) =>
      Object.keys(activitiesFor(kind, polled, activities));
    expect(names('llm', ['llm'])).toEqual(
      expect.arrayContaining([
        'llmComplete',
        'custodyGenerateItems',
        'custodyAnswerItem',
        'custodyGradeItem',
        'proposalDraft',
      ]),
    );
    expect(names('llm', ['llm'])).not.toContain('custodyPlan');
    expect(names('sandbox', ['sandbox']).sort()).toEqual(
      [
        'conquestMeasure',
        'custodyGradeItem',
        'guardianScan',
        'proposalApply',
        'proposalScan',
        'proposalTest',
        'proposalValidate',
        'sandboxExperiment',
        'sandboxRunTests',
      ].sort(),
    );
    expect(names('workflows', ['workflows'])).not.toEqual(expect.arrayContaining(['llmComplete']));
    expect(names('workflows', ['workflows']).every((n) => queueKindOf(n) === 'workflows')).toBe(true);
    expect(names('workflows', QUEUE_KINDS).sort()).toEqual(Object.keys(activities).sort());
  });
});

describe('worker tuning', () => {
  it('caps activity pollers at the slots, and gives workflow pollers, the cache and eager slots to the workflows worker only', () => {
    const tuning = { activityPollers: 8, workflowPollers: 4, maxCachedWorkflows: 50, eagerActivities: 3 };
    expect(tuningOptions('workflows', 100, tuning)).toEqual({
      maxConcurrentActivityTaskPolls: 8,
      maxConcurrentWorkflowTaskPolls: 4,
      maxCachedWorkflows: 50,
      maxEagerActivityReservationsPerWorkflowTask: 3,
    });
    expect(tuningOptions('sandbox', 2, tuning)).toEqual({ maxConcurrentActivityTaskPolls: 2 });
    expect(tuningOptions('llm', 50, {})).toEqual({});
  });
});
