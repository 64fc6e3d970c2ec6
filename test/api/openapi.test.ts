import { docOf, type RouteDoc } from '../../src/api/openapi/doc';
import type { OpenApiDocument } from '../../src/api/openapi/generate';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { testConfig } from '../helpers/config';
import { startTestApi, type TestApi } from '../helpers/api';

interface ServedRoute {
  method: string;
  path: string;
  paramNames: string[];
  doc: RouteDoc | undefined;
}

let db: TestDatabase;
let api: TestApi;
let viewer: string;
let routes: ServedRoute[];
let document: OpenApiDocument;

/**
 * Every method × path the app serves, read from the layers of every router mounted on it — so routes added anywhere
 * count without this test knowing them. HEAD is koa-router's automatic twin of each GET; method-less layers are
 * `router.use` middleware, not routes.
 */
function servedRoutes(app: TestApi['app']): ServedRoute[] {
  type Layer = {
    path: string | RegExp;
    methods: string[];
    paramNames: Array<{ name: string | number }>;
    stack: unknown[];
  };
  const routers = app.middleware.flatMap((m) => {
    const router = (m as { router?: { stack: Layer[] } }).router;
    return router === undefined ? [] : [router];
  });
  return routers.flatMap((router) =>
    router.stack.flatMap((layer) =>
      layer.methods
        .filter((method) => method !== 'HEAD')
        .map((method) => ({
          method,
          path: String(layer.path),
          paramNames: layer.paramNames.map((p) => String(p.name)),
          doc: docOf(layer.stack),
        })),
    ),
  );
}

const name = (r: { method: string; path: string }) => `${r.method} ${r.path}`;
const operationOf = (r: ServedRoute) =>
  document.paths[r.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}')]?.[r.method.toLowerCase()];

beforeAll(async () => {
  db = await createTestDatabase();
  api = await startTestApi(testConfig(db.url, { RATE_LIMIT_MAX: '1000' }));
  viewer = await api.key('viewer');
  routes = servedRoutes(api.app);
  const res = await api.request('GET', '/api/openapi.json', { key: viewer });
  expect(res.status).toBe(200);
  document = res.body as OpenApiDocument;
});
afterAll(async () => {
  await api.close();
  await db.drop();
});

it('finds the routes of the mounted routers, inside and outside /api', () => {
  const names = routes.map(name);
  expect(names).toEqual(
    expect.arrayContaining([
      'GET /healthz',
      'GET /docs',
      'GET /api/agents',
      'POST /api/proposals/:id/review',
      'GET /api/openapi.json',
    ]),
  );
  expect(names.some((n) => n.startsWith('HEAD '))).toBe(false);
});

it('has doc() metadata on every route', () => {
  expect(routes.filter((r) => r.doc === undefined).map(name)).toEqual([]);
});

it('serves an OpenAPI 3.1 document listing every route, with a parameter for every :param', () => {
  expect(document.openapi).toBe('3.1.0');
  expect(routes.filter((r) => operationOf(r) === undefined).map(name)).toEqual([]);
  const missingParams = routes.flatMap((r) =>
    r.paramNames
      .filter((p) => !operationOf(r)?.parameters?.some((q) => q.in === 'path' && q.name === p && q.required))
      .map((p) => `${name(r)} :${p}`),
  );
  expect(missingParams).toEqual([]);
});

it('gives a requestBody to every route whose doc() names a body, and its role to every operation', () => {
  const withBody = routes.filter((r) => r.doc?.body !== undefined);
  expect(withBody.map(name)).toEqual(
    expect.arrayContaining(['POST /api/proposals', 'PUT /api/token-usage/budgets/:scope']),
  );
  expect(
    withBody.filter((r) => operationOf(r)?.requestBody?.content['application/json']?.schema === undefined).map(name),
  ).toEqual([]);
  expect(
    routes.filter((r) => r.doc !== undefined && operationOf(r)?.['x-required-role'] !== r.doc.role).map(name),
  ).toEqual([]);
});

it('describes inputs from the zod schemas the handlers parse', () => {
  const proposals = document.paths['/api/proposals']?.post?.requestBody;
  expect(proposals).toMatchObject({
    required: true,
    content: {
      'application/json': {
        schema: {
          properties: { agentId: { enum: ['imperium', 'guardian', 'sandbox', 'conquest'] } },
          required: ['agentId'],
        },
      },
    },
  });
  expect(document.paths['/api/agents/{id}/pause']?.post?.requestBody?.required).toBe(false);
  expect(document.paths['/api/agents']?.get?.parameters).toContainEqual({
    name: 'limit',
    in: 'query',
    required: false,
    schema: { type: 'integer', minimum: 1, maximum: 100, default: 50 },
  });
  expect(document.paths['/api/token-usage/budgets/{scope}']?.put).toMatchObject({
    'x-required-role': 'admin',
    responses: { 403: { $ref: '#/components/responses/Forbidden' } },
  });
  expect(document.paths['/healthz']?.get).toMatchObject({ 'x-required-role': 'public', security: [] });
  expect(document.security).toEqual([{ bearer: [] }]);
});

it('gives every success response a body schema (or a media type), and every /api operation its 4xx and 503', () => {
  const operations = Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({ name: `${method.toUpperCase()} ${path}`, path, op })),
  );
  const untyped = operations.flatMap(({ name, op }) =>
    Object.entries(op.responses)
      .filter(([status]) => Number(status) < 300)
      .filter(([, r]) =>
        Object.values((r as { content?: Record<string, { schema?: object }> }).content ?? {}).every(
          (c) => c.schema === undefined,
        ),
      )
      .map(([status]) => `${name} ${status}`),
  );
  expect(untyped).toEqual([]);
  // redocly's operation-4xx-response is off only for the public routes outside /api (redocly.yaml); this holds the rest to it.
  const api = operations.filter(({ path }) => path.startsWith('/api/'));
  expect(api.length).toBeGreaterThan(50);
  expect(api.filter(({ op }) => !['401', '429', '503'].every((s) => s in op.responses)).map((o) => o.name)).toEqual([]);
  expect(document.paths['/api/custody/tests']?.post?.responses).toMatchObject({
    202: { content: { 'application/json': { schema: { $ref: '#/components/schemas/StartedExam' } } } },
    409: { description: expect.stringContaining('paused') },
    413: { $ref: '#/components/responses/PayloadTooLarge' },
  });
  // Named response schemas are components, for client generators to name their types after; the exam detail is one.
  const schemas = (
    document.components as { schemas: Record<string, { required?: string[]; properties?: Record<string, unknown> }> }
  ).schemas;
  expect(schemas.StartedExam?.required).toEqual(expect.arrayContaining(['workflowId', 'examUrl']));
  expect(schemas.Exam?.properties?.items).toEqual({ type: 'array', items: { $ref: '#/components/schemas/ExamItem' } });
  expect(document.paths['/api/custody/tests/{id}']?.get?.responses['200']).toEqual({
    description: expect.any(String),
    content: { 'application/json': { schema: { $ref: '#/components/schemas/Exam' } } },
  });
  expect(Object.keys(document.paths['/api/agents']?.get?.responses ?? {})).not.toContain('409');
});

it('requires a key for /api/openapi.json', async () => {
  const res = await api.request('GET', '/api/openapi.json');
  expect(res.status).toBe(401);
  expect(res.body).toMatchObject({ error: { code: 'unauthorized' } });
});

it('serves /docs without a key: self-contained HTML naming the routes', async () => {
  const res = await api.request('GET', '/docs');
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/html/);
  for (const path of ['/api/agents/{id}', '/api/proposals/{id}/review', '/api/token-usage/budgets/{scope}', '/healthz'])
    expect(res.text).toContain(`<code>${path}</code>`);
  expect(res.text).toContain('<code>agentId</code>');
  expect(res.text).not.toMatch(/<script|<link|\ssrc=|https?:\/\//i);
});
