import type { Client } from 'pg';

/**
 * Bulk rows for the API bench, written with `generate_series` so that 10× (100k ledger events) takes seconds. At scale
 * 1: 1,000 exams, 10,000 ledger events, 1,000 findings, 1,000 proposals, 1,000 notifications; `seedTo` tops the
 * tables up to the scale asked (rows are numbered, so 1 then 10 writes 9,000 more exams, not 10,000).
 */
export const ROWS_PER_SCALE = {
  exams: 1000,
  ledger: 10_000,
  findings: 1000,
  proposals: 1000,
  notifications: 1000,
} as const;

const AGENTS = `(array['imperium','guardian','sandbox','conquest'])[1 + (g % 4)]`;
const BENCH_REPO = '00000000-0000-4000-8000-00000000be9c';
const BENCH_RUN = '00000000-0000-4000-8000-00000000be9d';

/** Empties what the bench seeds (in the bench's own database only) and writes the repository and run findings hang on. */
export async function resetSeed(db: Client): Promise<void> {
  await db.query(
    'truncate exams, exam_items, token_usage_events, findings, proposals, proposal_events, notifications, skill_rating_events cascade',
  );
  await db.query(`delete from agent_runs where id = $1`, [BENCH_RUN]);
  await db.query(`delete from repositories where id = $1`, [BENCH_REPO]);
  await db.query(
    `insert into repositories (id, name, path, test_cmd, created_at, updated_at) values ($1, 'bench', '/tmp/bench-repo', 'true', now(), now())`,
    [BENCH_REPO],
  );
  await db.query(
    `insert into agent_runs (id, workflow_id, agent_id, kind, trigger, status, repository_id, steps, summary, started_at, completed_at)
     values ($1, 'bench-guardian-scan', 'guardian', 'guardian_scan', 'api', 'completed', $2, '[]', '{}', now(), now())`,
    [BENCH_RUN, BENCH_REPO],
  );
}

/**
 * Writes rows numbered (current, scale × per-scale] in every seeded table, then VACUUMs (ANALYZE) them: the tables
 * measured as a live system has them after autovacuum (visibility map and hint bits set, statistics fresh), not in the
 * minutes after a bulk load, when the first reads write hint bits and autovacuum competes with the run.
 */
export async function seedTo(db: Client, from: number, to: number): Promise<void> {
  const range = (per: number) => [from * per + 1, to * per] as const;
  const [e0, e1] = range(ROWS_PER_SCALE.exams);
  await db.query(
    `insert into exams (id, workflow_id, agent_id, category, difficulty, olympus, exam_number, pass_mark, time_limit_seconds, item_count,
                        trigger, status, steps, score, borderline, started_at, completed_at)
     select gen_random_uuid(), 'bench-exam-' || g, ${AGENTS}, (array['code','security','reasoning'])[1 + (g % 3)], 'medium', false, g, 70, 600, 3,
            'schedule', case when g % 5 = 0 then 'failed' else 'passed' end, '[]', 60 + (g % 40), false,
            now() - make_interval(mins => g), now() - make_interval(mins => g) + interval '30 seconds'
       from generate_series($1::int, $2::int) g`,
    [e0, e1],
  );
  const [l0, l1] = range(ROWS_PER_SCALE.ledger);
  await db.query(
    `insert into token_usage_events (at, month, agent_id, purpose, provider, model, workflow_id, input_tokens, output_tokens, cost_usd,
                                     latency_ms, outcome, cache_hit)
     select now() - make_interval(secs => g), to_char(now() - make_interval(secs => g), 'YYYY-MM'), ${AGENTS}, 'custody.answer',
            (array['openai','anthropic'])[1 + (g % 2)], (array['gpt-4o-mini','claude-3-5-haiku-latest'])[1 + (g % 2)],
            'bench-exam-' || (1 + g / 10), 200 + (g % 300), 50 + (g % 80), 0.0001 * (1 + g % 7), 100 + (g % 900), 'ok', g % 10 = 0
       from generate_series($1::int, $2::int) g`,
    [l0, l1],
  );
  const [f0, f1] = range(ROWS_PER_SCALE.findings);
  await db.query(
    `insert into findings (id, repository_id, agent_id, kind, tool, rule, severity, title, message, file, line, fingerprint, status, data,
                           first_run_id, last_run_id, opened_run_id, first_seen_at, last_seen_at)
     select gen_random_uuid(), $3, 'guardian', 'security', 'semgrep', 'bench.rule.' || (g % 50),
            (array['low','medium','high','critical'])[1 + (g % 4)], 'Bench finding ' || g, 'A seeded finding.', 'src/file' || (g % 200) || '.ts',
            g % 500, 'bench-fp-' || g, case when g % 10 = 0 then 'resolved' else 'open' end, '{}', $4, $4, $4,
            now() - make_interval(mins => g), now() - make_interval(mins => g)
       from generate_series($1::int, $2::int) g`,
    [f0, f1, BENCH_REPO, BENCH_RUN],
  );
  const [p0, p1] = range(ROWS_PER_SCALE.proposals);
  await db.query(
    `insert into proposals (id, workflow_id, agent_id, trigger, status, title, changed_files, changed_lines, drafts, created_at, updated_at, completed_at)
     select gen_random_uuid(), 'bench-proposal-' || g, ${AGENTS}, 'schedule', (array['applied','rejected','expired','invalid'])[1 + (g % 4)],
            'Bench proposal ' || g, '[]', 10 + (g % 90), 1, now() - make_interval(mins => g), now() - make_interval(mins => g), now() - make_interval(mins => g)
       from generate_series($1::int, $2::int) g`,
    [p0, p1],
  );
  const [n0, n1] = range(ROWS_PER_SCALE.notifications);
  await db.query(
    `insert into notifications (id, kind, title, message, priority, data, read, created_at)
     select gen_random_uuid(), 'level_up', 'Bench notification ' || g, 'A seeded notification.', (array['low','normal','high'])[1 + (g % 3)],
            '{}', g % 3 = 0, now() - make_interval(mins => g)
       from generate_series($1::int, $2::int) g`,
    [n0, n1],
  );
  await db.query(
    'vacuum (analyze) exams, token_usage_events, token_usage_rollup, findings, proposals, notifications, row_counts',
  );
}
