import { randomBytes, randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { Exam, Finding, Notification, Repository } from '../../src/db/entities';
import { COUNTED_COLUMNS, positional, readRows } from '../../src/db/read';
import { budgetMonth } from '../../src/domain/llm';
import { createLedger, ledgerInsert, type LedgerEntry } from '../../src/llm/ledger';
import { budgetStates, usageSummary, usageTotals } from '../../src/llm/reports';
import { createLogger } from '../../src/logger';
import { createMetrics } from '../../src/metrics';
import { testConfig } from '../helpers/config';
import { useTestOrm } from '../helpers/database';
import { seedExam, seedLedger, seedProposal } from '../helpers/seed';

/**
 * The read models of migration ReadCountsRollups (issue 17) are exact: `row_counts` equals `count(*)` per
 * combination of counted columns, and `token_usage_rollup` equals the ledger summed per month, agent, provider and
 * model, after every kind of write the application makes (inserts, updates that move a row between groups, updates
 * that move nothing, deletes, truncates, the gateway's begin → settle / refund, the liveness stamp).
 */

const bed = useTestOrm();
const em = () => bed.orm.em.fork() as EntityManager;
const sql = <T = Record<string, unknown>>(text: string, params: unknown[] = []) =>
  em().execute(text, params) as Promise<T[]>;

/** Each counted table's groups as `row_counts` has them and as `count(*)` finds them (groups of 0 rows left out). */
async function countsOf(table: string): Promise<{ kept: Record<string, number>; actual: Record<string, number> }> {
  const columns = COUNTED_COLUMNS[table] ?? [];
  const kept = await sql<{ key: unknown; rows: string }>(
    `select key, sum(rows) as rows from row_counts where table_name = ? group by key having sum(rows) <> 0`,
    [table],
  );
  const actual = await sql<{ key: unknown; rows: string }>(
    `select jsonb_build_object(${columns.map((c) => `'${c}', "${c}"`).join(', ')}) as key, count(*) as rows from "${table}" group by 1`,
  );
  const byKey = (rows: Array<{ key: unknown; rows: string }>) =>
    Object.fromEntries(rows.map((r) => [JSON.stringify(r.key), Number(r.rows)]));
  return { kept: byKey(kept), actual: byKey(actual) };
}

async function expectCountsExact(): Promise<void> {
  for (const table of Object.keys(COUNTED_COLUMNS)) {
    const { kept, actual } = await countsOf(table);
    expect({ table, groups: kept }).toEqual({ table, groups: actual });
  }
}

/** The rollup's non-empty groups and the ledger grouped the same way. */
async function expectRollupExact(): Promise<void> {
  const cols = `calls::int, cache_hits::int, input_tokens::int, output_tokens::int, cost_usd::float8 as cost_usd, unknown_cost_calls::int, estimated_usage_calls::int`;
  const kept = await sql(
    `select month, agent_id, provider, model, ${cols} from token_usage_rollup where calls <> 0 order by 1, 2, 3, 4`,
  );
  const actual = await sql(`select month, agent_id, provider, model, ${cols} from (
      select month, coalesce(agent_id, '') as agent_id, provider, model, count(*) as calls, count(*) filter (where cache_hit) as cache_hits,
             sum(input_tokens) as input_tokens, sum(output_tokens) as output_tokens, coalesce(sum(cost_usd), 0) as cost_usd,
             count(*) filter (where cost_unknown) as unknown_cost_calls, count(*) filter (where usage_estimated) as estimated_usage_calls
        from token_usage_events group by 1, 2, 3, 4) t order by 1, 2, 3, 4`);
  expect(kept).toEqual(actual);
}

describe('row_counts', () => {
  it('equals count(*) per group through inserts, moves between groups, updates of other columns, deletes and truncate', async () => {
    await expectCountsExact();
    const repository = new Repository({ name: 'counts', path: `/tmp/counts-${randomUUID()}`, testCmd: 'true' });
    await em().persistAndFlush(repository);
    const exams = [];
    for (const [agentId, status] of [
      ['guardian', 'running'],
      ['guardian', 'passed'],
      ['imperium', 'running'],
      ['sandbox', 'failed'],
    ] as const) {
      exams.push(await seedExam(em(), { agentId, status, completedAt: status === 'running' ? null : new Date() }));
    }
    await seedProposal(em(), { agentId: 'guardian', status: 'drafting', completedAt: null });
    await seedProposal(em(), { agentId: 'imperium', status: 'applied', completedAt: new Date() });
    const f = em();
    for (const [severity, tool] of [
      ['high', 'semgrep'],
      ['critical', 'gitleaks'],
      ['low', 'semgrep'],
      ['medium', 'osv'],
    ] as const) {
      f.persist(
        new Finding({
          repositoryId: repository.id,
          agentId: 'guardian',
          kind: 'security',
          tool,
          rule: `r-${severity}`,
          severity,
          title: severity,
          message: 'm',
          file: 'a.ts',
          line: 1,
          fingerprint: randomBytes(16).toString('hex'),
          firstRunId: randomUUID(),
        }),
      );
    }
    f.persist(new Notification({ kind: 'level_up', title: 'up', message: 'level 2', priority: 'high', data: {} }));
    f.persist(new Notification({ kind: 'weekly_report', title: 'week', message: 'the week', data: {} }));
    await f.flush();
    await expectCountsExact();

    // A row moving between groups (running → passed), through the ORM and in bulk; an update of a column not
    // counted (steps) moves nothing; a multi-row update touching several groups at once.
    const moving = await em().findOneOrFail(Exam, { id: exams[0]?.id });
    moving.status = 'passed';
    moving.completedAt = new Date();
    await em().persistAndFlush(moving);
    await sql(`update exams set steps = '[{"step":"x"}]' where agent_id = 'imperium'`);
    await sql(`update exams set status = 'error', category = 'security' where status in ('running', 'failed')`);
    await sql(`update notifications set read = true where kind = 'level_up'`);
    await sql(`update findings set status = 'resolved' where tool = 'semgrep'`);
    // An upsert that updates (insert … on conflict do update): counted by the update trigger, not twice.
    await sql(`insert into notifications (id, kind, title, message, priority, data, read, created_at, dedupe_key)
               values (gen_random_uuid(), 'level_up', 'a', 'b', 'low', '{}', false, now(), 'dedupe-1')
               on conflict (dedupe_key) do update set read = excluded.read`);
    await sql(`insert into notifications (id, kind, title, message, priority, data, read, created_at, dedupe_key)
               values (gen_random_uuid(), 'level_up', 'a', 'b', 'low', '{}', true, now(), 'dedupe-1')
               on conflict (dedupe_key) do update set read = excluded.read`);
    await expectCountsExact();

    await sql(`delete from exams where agent_id = 'sandbox'`);
    await sql(`delete from proposals where status = 'applied'`);
    await expectCountsExact();
    // A rolled-back write leaves the counts as they were (they are written in the writer's transaction).
    await expect(
      em().transactional(async (tx) => {
        await tx.execute(`delete from findings`);
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    await expectCountsExact();
    expect((await countsOf('findings')).kept).not.toEqual({});

    // Many small writes (each appends two rows: −1 the old key, +1 the new one): folded now and then (one statement in
    // 32; none in 300 has odds of 7 in 100,000), the counts unchanged.
    for (let i = 0; i < 300; i++)
      await sql(`update exams set status = ? where agent_id = 'imperium'`, [i % 2 === 0 ? 'passed' : 'failed']);
    await expectCountsExact();
    expect(
      Number((await sql<{ n: string }>(`select count(*) as n from row_counts where table_name = 'exams'`))[0]?.n),
    ).toBeLessThan(600);

    await sql(`truncate notifications`);
    await expectCountsExact();
    expect((await countsOf('notifications')).kept).toEqual({});
  });

  it('never makes a writer wait for another transaction that counted the same key', async () => {
    const insert = (tx: EntityManager, title: string) =>
      tx.execute(
        `insert into notifications (id, kind, title, message, priority, data, read, created_at) values (gen_random_uuid(), 'level_up', ?, 'm', 'low', '{}', false, now())`,
        [title],
      );
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    let open: () => void = () => undefined;
    const opened = new Promise<void>((resolve) => (open = resolve));
    const slow = em().transactional(async (tx) => {
      await insert(tx, 'slow');
      open();
      await held;
    });
    await opened;
    // The same key (level_up, unread) while the first transaction is still open: done at once, not after it.
    const fast = await Promise.race([
      insert(em(), 'fast').then(() => 'done'),
      new Promise((resolve) => setTimeout(() => resolve('blocked'), 3000)),
    ]);
    release();
    await slow;
    expect(fast).toBe('done');
    await expectCountsExact();
  });
});

describe('token_usage_rollup', () => {
  const entry = (over: Partial<LedgerEntry> = {}): LedgerEntry => ({
    agentId: 'guardian',
    purpose: 'test.rollup',
    provider: 'openai',
    model: 'gpt-4o-mini',
    workflowId: undefined,
    activityId: undefined,
    attempt: undefined,
    inputTokens: 100,
    outputTokens: 20,
    costUsd: 0.000123,
    latencyMs: 5,
    outcome: 'ok',
    ...over,
  });

  it('equals the ledger summed per month, agent, provider and model through begin, settle, refund, stamps, deletes and truncate', async () => {
    const config = testConfig(bed.db.url);
    const ledger = createLedger({
      orm: bed.orm,
      metrics: createMetrics(),
      logger: createLogger({ ...config.log, level: 'error' }),
    });
    await expectRollupExact();

    // Rows written whole (record, recordLater: a cache hit; a model without a price; estimated usage; no agent).
    await ledger.record(entry());
    await ledger.record(
      entry({
        agentId: undefined,
        provider: 'anthropic',
        model: 'claude-3-5-haiku-latest',
        costUsd: null,
        usageEstimated: true,
      }),
    );
    ledger.recordLater(entry({ outcome: 'cache_hit', inputTokens: 0, outputTokens: 0, costUsd: 0 }));
    await ledger.flush();
    await seedLedger(em(), [
      {
        at: new Date('2026-01-15T00:00:00Z'),
        agentId: 'imperium',
        provider: 'openai',
        inputTokens: 9,
        outputTokens: 1,
        costUsd: 0.5,
      },
    ]);
    await expectRollupExact();

    // Begun at an estimate (`unknown`), stamped alive (no figure changes), then settled with the real figures…
    const settled = `call-${randomUUID()}`;
    await ledger.begin({
      ...entry({ outcome: 'unknown', inputTokens: 500, outputTokens: 500, costUsd: 0.01 }),
      callKey: settled,
    });
    await expectRollupExact();
    await ledger.alive(settled);
    await ledger.end({ ...entry({ inputTokens: 120, outputTokens: 33, costUsd: 0.000777 }), callKey: settled });
    await expectRollupExact();
    // …or refunded: the request failed, nothing was spent.
    const refunded = `call-${randomUUID()}`;
    await ledger.begin({
      ...entry({ agentId: 'sandbox', outcome: 'unknown', inputTokens: 400, outputTokens: 400, costUsd: 0.02 }),
      callKey: refunded,
    });
    await ledger.end({
      ...entry({
        agentId: 'sandbox',
        outcome: 'unavailable',
        inputTokens: 0,
        outputTokens: 0,
        costUsd: 0,
        error: 'provider down',
      }),
      callKey: refunded,
    });
    await expectRollupExact();

    // A row moved to another group, a bulk insert, a delete, a rolled-back insert.
    await sql(`update token_usage_events set agent_id = 'conquest', model = 'gpt-4o' where call_key = ?`, [settled]);
    const bulk = ledgerInsert(entry({ agentId: 'imperium' }));
    for (let i = 0; i < 3; i++) await em().execute(bulk.sql, bulk.params, 'run');
    await sql(`delete from token_usage_events where agent_id = 'sandbox'`);
    await expect(
      em().transactional(async (tx) => {
        await tx.execute(bulk.sql, bulk.params, 'run');
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    await expectRollupExact();

    // The summary read from the rollup is the one the ledger gives, month by month.
    const defaults = config.llm.defaultBudget;
    for (const month of [budgetMonth(new Date()), '2026-01', '2001-01']) {
      const [all] = await usageTotals(em(), month, 'all');
      const fromLedger = {
        all,
        byAgent: await usageTotals(em(), month, 'agent'),
        byProvider: await usageTotals(em(), month, 'provider'),
        byModel: await usageTotals(em(), month, 'model'),
        budgets: await budgetStates(em(), month, defaults),
      };
      // Through an entity manager (ORM execute) and through the ORM (a prepared read on the pool, as the route does).
      expect(await usageSummary(em(), month, defaults)).toEqual(fromLedger);
      expect(await usageSummary(bed.orm, month, defaults)).toEqual(fromLedger);
    }

    await sql(`truncate token_usage_events`);
    await expectRollupExact();
    expect(await sql(`select * from token_usage_rollup where calls <> 0`)).toEqual([]);
  });
});

describe('readRows (prepared reads on the pool)', () => {
  it('binds values as parameters and still reads a table whose columns a migration changed after it was prepared', async () => {
    expect(positional('select ? as a, \\? as q, ?::jsonb as j')).toBe('select $1 as a, ? as q, $2::jsonb as j');
    await sql(`create table read_rows_probe (a int)`);
    await sql(`insert into read_rows_probe values (1)`);
    const read = () =>
      readRows<Record<string, unknown>>(bed.orm, `select t.* from read_rows_probe t where t.a = ?`, [1]);
    // Prepared on the connections the pool hands out, then the table gains a column (the plan's result type changes).
    for (let i = 0; i < 5; i++) expect(await read()).toEqual([{ a: 1 }]);
    await sql(`alter table read_rows_probe add column b text default 'x'`);
    for (let i = 0; i < 5; i++) expect(await read()).toEqual([{ a: 1, b: 'x' }]);
    // A quote in a value is a value.
    expect(await readRows(bed.orm, `select ?::text as v`, ["x' or '1'='1"])).toEqual([{ v: "x' or '1'='1" }]);
  });
});
