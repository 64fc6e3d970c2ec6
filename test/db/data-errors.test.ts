import { ApplicationFailure } from '@temporalio/common';
import { classifyDataErrors, DATA_ERROR } from '../../activities/classify';
import { useTestOrm } from '../helpers/database';

const bed = useTestOrm();

const activities = () =>
  classifyDataErrors({
    storeText: (value: string) => bed.orm.em.fork().getConnection().execute('select ?::text as value', [value]),
    transient: async () => {
      throw new Error('connection reset');
    },
  });

it('fails an activity whose data PostgreSQL refuses (a NUL in text) for good, as a DataError naming the SQLSTATE', async () => {
  const err = await activities()
    .storeText('a\u0000b')
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  expect(err).toBeInstanceOf(ApplicationFailure);
  expect(err).toMatchObject({
    type: DATA_ERROR,
    nonRetryable: true,
    message: expect.stringMatching(/^storeText: data the database refuses \(SQLSTATE (22\d{3}|08P01)\)/),
  });
});

it('passes results and every other error through unchanged, so transient trouble is still retried', async () => {
  expect(await activities().storeText('ab')).toEqual([{ value: 'ab' }]);
  const err = await activities()
    .transient()
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  expect(err).not.toBeInstanceOf(ApplicationFailure);
  expect(err).toMatchObject({ message: 'connection reset' });
});
