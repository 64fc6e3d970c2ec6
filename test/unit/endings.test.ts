import { endingFor } from '../../src/domain/endings';

it('ends a row as cancelled, with the real reason, when its workflow was cancelled, terminated, timed out or is unknown', () => {
  expect(endingFor('CANCELLED')).toEqual({ kind: 'cancelled', reason: 'cancelled in Temporal' });
  expect(endingFor('TERMINATED')).toEqual({ kind: 'cancelled', reason: 'terminated in Temporal' });
  expect(endingFor('TIMED_OUT')?.reason).toMatch(/^timed_out/);
  expect(endingFor('NOT_FOUND')?.kind).toBe('cancelled');
});

it('ends a row as failed when its workflow failed or completed without ending it', () => {
  expect(endingFor('FAILED')?.kind).toBe('failed');
  expect(endingFor('COMPLETED')?.kind).toBe('failed');
});

it('leaves a row alone while its workflow may still end it', () => {
  for (const s of ['RUNNING', 'PAUSED', 'CONTINUED_AS_NEW', 'UNKNOWN', 'UNSPECIFIED'] as const)
    expect(endingFor(s)).toBeNull();
});
