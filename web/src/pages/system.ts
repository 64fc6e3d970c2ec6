import { api } from '../api';
import type { PageContext } from '../context';
import { badge, fmtDate, h, table } from '../dom';

interface Worker {
  identity: string;
  host: string;
  pid: number;
  taskQueue: string;
  queues: string[];
  sandbox: { isolation?: string; cgroup?: string; warnings?: unknown[]; limits?: Record<string, unknown> } & Record<
    string,
    unknown
  >;
  startedAt: string;
  seenAt: string;
}
interface System {
  database: 'up' | 'down';
  temporal: 'up' | 'down';
  sandbox: { isolation: string; workers: Worker[] };
  queues: Record<string, { queue: string; workers: number }>;
  llm: {
    providers: string[];
    profiles: { primary: string | null; fallback: string | null; examiner: string | null; judge: string | null };
  };
}

const QUEUE_WORK: Record<string, string> = {
  workflows: 'workflows and their short steps',
  llm: 'LLM calls (exams, reviews, proposals)',
  sandbox: 'target code: tests, scans, experiments',
};

/** What the console's server sees: readiness, PostgreSQL and Temporal, the sandbox isolation, the LLM providers, live workers. */
export async function systemPage(_ctx: PageContext): Promise<HTMLElement> {
  const [s, ready] = await Promise.all([api<System>('/system'), readiness()]);
  const isolated = s.sandbox.isolation === 'bwrap';
  const warnings = [
    ...new Set(
      s.sandbox.workers.flatMap((w) => (Array.isArray(w.sandbox.warnings) ? w.sandbox.warnings.map(String) : [])),
    ),
  ];
  return h(
    'section',
    { class: 'system' },
    h('h1', {}, 'System'),
    h('h2', {}, 'Dependencies'),
    table(
      ['', 'state', 'what it means'],
      [
        ['readiness (/readyz)', badge(ready.ok ? 'ready' : 'not_ready'), ready.text],
        [
          'PostgreSQL',
          badge(s.database),
          s.database === 'up'
            ? 'answers queries'
            : 'unreachable: the API cannot read or write anything; check DATABASE_URL and the database',
        ],
        [
          'Temporal',
          badge(s.temporal),
          s.temporal === 'up'
            ? 'answers: workflows can start and run'
            : 'unreachable: nothing can start; check TEMPORAL_ADDRESS and the Temporal server',
        ],
      ],
    ),
    h('h2', {}, 'Sandbox isolation'),
    h(
      'p',
      { class: 'isolation', 'data-isolation': s.sandbox.isolation },
      'Target code runs under ',
      badge(s.sandbox.isolation),
      ` (${s.sandbox.workers.length} live worker${s.sandbox.workers.length === 1 ? '' : 's'}).`,
    ),
    isolated
      ? h(
          'p',
          { class: 'ok' },
          'Isolated: every run is in its own bubblewrap namespaces (no access to the host’s files, network or processes beyond what it is given).',
        )
      : h(
          'div',
          { class: 'warning-box', role: 'note' },
          h(
            'p',
            {},
            h(
              'strong',
              {},
              s.sandbox.isolation === 'unknown' ? 'No live worker reports its sandbox: ' : 'NOT isolated: ',
            ),
            isolationWarning(s.sandbox.isolation),
          ),
          warnings.length > 0
            ? h(
                'ul',
                {},
                warnings.map((w) => h('li', {}, w)),
              )
            : null,
        ),
    isolated && warnings.length > 0
      ? [
          h('p', {}, 'Limits the workers report:'),
          h(
            'ul',
            {},
            warnings.map((w) => h('li', {}, w)),
          ),
        ]
      : null,
    h('h2', {}, 'LLM providers'),
    s.llm.providers.length === 0
      ? h(
          'p',
          { class: 'warn' },
          'No LLM provider is configured: exams, learning cycles and proposals fail until OPENAI_API_KEY or ANTHROPIC_API_KEY is set; scans, test runs and measurements still run.',
        )
      : h(
          'p',
          {},
          'Configured: ',
          s.llm.providers.map((p, i) => [i > 0 ? ', ' : '', h('strong', {}, p)]),
        ),
    table(
      ['profile', 'provider:model'],
      (['primary', 'fallback', 'examiner', 'judge'] as const).map((k) => [
        k,
        s.llm.profiles[k] ?? (k === 'primary' ? 'not set' : 'the primary'),
      ]),
    ),
    h('h2', {}, 'Task queues'),
    table(
      ['kind', 'queue', 'live workers'],
      Object.entries(s.queues).map(([kind, q]) => [
        h('span', { title: QUEUE_WORK[kind] ?? '' }, kind),
        h('code', {}, q.queue),
        q.workers === 0
          ? h('span', { class: 'warn' }, `0: its work waits until a worker polls it (${QUEUE_WORK[kind] ?? kind})`)
          : String(q.workers),
      ]),
    ),
    h('h2', {}, 'Live workers'),
    s.sandbox.workers.length === 0
      ? h(
          'div',
          { class: 'empty' },
          h('p', {}, 'No live worker.'),
          h(
            'p',
            { class: 'muted' },
            'Nothing runs until one starts: npm run worker (or the worker container). A worker announces itself here within seconds of starting.',
          ),
        )
      : table(
          ['identity', 'host · pid', 'queues', 'sandbox', 'started', 'last seen'],
          s.sandbox.workers.map((w) => [
            w.identity,
            `${w.host} · ${w.pid}`,
            w.queues.join(', '),
            w.sandbox.isolation === undefined
              ? 'none (runs no target code)'
              : [badge(String(w.sandbox.isolation)), w.sandbox.cgroup ? ` cgroup: ${String(w.sandbox.cgroup)}` : ''],
            fmtDate(w.startedAt),
            fmtDate(w.seenAt),
          ]),
        ),
  );
}

function isolationWarning(mode: string): string {
  if (mode === 'process')
    return 'target code runs as plain processes with resource limits only; a run can read and write what the worker can, use the network and see its processes. Install bubblewrap (Debian package bubblewrap) on the workers’ hosts and set SANDBOX_REQUIRE_ISOLATION=true before pointing them at code you do not trust.';
  if (mode === 'mixed')
    return 'some workers isolate target code with bubblewrap and some do not; a run may land on either. Install bubblewrap on every worker host and set SANDBOX_REQUIRE_ISOLATION=true so a worker without it refuses to run target code.';
  return 'the isolation of target code cannot be known until a sandbox worker runs (npm run worker).';
}

/** GET /readyz (public, outside /api): 200 ready, 503 with what is unreachable. */
async function readiness(): Promise<{ ok: boolean; text: string }> {
  try {
    const res = await fetch('/readyz');
    const body = (await res.json()) as { error?: { message?: string } };
    return res.ok
      ? { ok: true, text: 'the API is ready to serve' }
      : { ok: false, text: body.error?.message ?? `HTTP ${res.status}` };
  } catch (err) {
    return { ok: false, text: `the readiness check failed: ${err instanceof Error ? err.message : String(err)}` };
  }
}
