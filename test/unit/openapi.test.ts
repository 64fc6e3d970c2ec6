import Router from '@koa/router';
import { z } from 'zod';
import { doc } from '../../src/api/openapi/doc';
import { buildOpenApiDocument, openApiPath, routesOf, type OpenApiOperation } from '../../src/api/openapi/generate';
import { renderDocsPage } from '../../src/api/openapi/html';

const info = { title: 'test', version: '0' };
const ok = () => undefined;

function operationOf(router: Router, path: string, method: string): OpenApiOperation {
  const operation = buildOpenApiDocument([router], info).paths[path]?.[method];
  if (operation === undefined) throw new Error(`${method} ${path} is not in the document`);
  return operation;
}

describe('buildOpenApiDocument', () => {
  it('documents transforms, preprocess, coerce, pipes, refinements and types JSON cannot express by their input', () => {
    const router = new Router({ prefix: '/things' });
    const query = z.object({
      limit: z.coerce.number().int().min(1).max(100).default(20),
      tags: z.string().transform((s) => s.split(',')),
      flag: z.preprocess((v) => v === 'true', z.boolean()).optional(),
      since: z.string().pipe(z.coerce.date()).optional(),
      at: z.date().optional(),
      big: z.bigint().optional(),
      custom: z.custom<string>((v) => typeof v === 'string').optional(),
      checked: z
        .string()
        .refine((s) => s.length > 1, 'too short')
        .optional(),
    });
    const body = z
      .object({ when: z.iso.datetime(), amount: z.number().nullable(), kind: z.enum(['a', 'b']).describe('the kind') })
      .strict()
      .superRefine(ok)
      .transform((b) => ({ ...b, at: new Date(b.when) }));
    router.post(
      '/:id',
      doc({
        summary: 'zod features',
        role: 'operator',
        query,
        body,
        responses: { 201: { description: 'made', schema: body } },
      }),
      ok,
    );

    const op = operationOf(router, '/things/{id}', 'post');
    const byName = Object.fromEntries((op.parameters ?? []).map((p) => [p.name, p]));
    expect(byName.limit).toEqual({
      name: 'limit',
      in: 'query',
      required: false,
      schema: { type: 'integer', minimum: 1, maximum: 100, default: 20 },
    });
    expect(byName.tags).toMatchObject({ required: true, schema: { type: 'string' } });
    expect(byName.flag).toMatchObject({ required: false });
    expect(Object.keys(byName).sort()).toEqual([
      'at',
      'big',
      'checked',
      'custom',
      'flag',
      'id',
      'limit',
      'since',
      'tags',
    ]);
    expect(op.requestBody).toEqual({
      required: true,
      content: {
        'application/json': {
          schema: {
            type: 'object',
            properties: {
              when: expect.objectContaining({ type: 'string', format: 'date-time' }),
              amount: { type: ['number', 'null'] },
              kind: { type: 'string', enum: ['a', 'b'], description: 'the kind' },
            },
            required: ['when', 'amount', 'kind'],
            additionalProperties: false,
          },
        },
      },
    });
    // The output side of a transform cannot be said in JSON Schema: "any", not a crash.
    expect(op.responses['201']).toEqual({ description: 'made', content: { 'application/json': { schema: {} } } });
  });

  it('turns every :param into a required path parameter, typed by doc.params or as a string', () => {
    const router = new Router({ prefix: '/api' });
    router.get(
      '/a/:agentId/runs/:runId',
      doc({ summary: 'one run', role: 'viewer', params: z.object({ agentId: z.enum(['x', 'y']).describe('whose') }) }),
      ok,
    );
    const op = operationOf(router, '/api/a/{agentId}/runs/{runId}', 'get');
    expect(op.parameters).toEqual([
      {
        name: 'agentId',
        in: 'path',
        required: true,
        description: 'whose',
        schema: { type: 'string', enum: ['x', 'y'] },
      },
      { name: 'runId', in: 'path', required: true, schema: { type: 'string' } },
    ]);
    expect(op.responses['404']).toEqual({ $ref: '#/components/responses/NotFound' });
    expect(openApiPath('/api/a/:agentId/runs/:runId')).toBe('/api/a/{agentId}/runs/{runId}');
  });

  it('marks a body with a default optional, and public routes without security', () => {
    const router = new Router();
    router.post(
      '/x',
      doc({ summary: 'x', role: 'admin', body: z.object({ reason: z.string().optional() }).strict().default({}) }),
      ok,
    );
    router.get(
      '/healthz',
      doc({ summary: 'liveness', role: 'public', responses: { 200: { description: 'alive' } } }),
      ok,
    );
    const document = buildOpenApiDocument([router], info);
    const post = document.paths['/x']?.post;
    expect(post?.requestBody?.required).toBe(false);
    expect(post).toMatchObject({ 'x-required-role': 'admin', tags: ['system'] });
    expect(post?.security).toBeUndefined();
    expect(Object.keys(post?.responses ?? {})).toEqual(['200', '400', '401', '403', '413', '415', '429', '503']);
    expect(document.paths['/healthz']?.get).toMatchObject({
      security: [],
      'x-required-role': 'public',
      responses: { 200: { description: 'alive' } },
    });
    expect(document.security).toEqual([{ bearer: [] }]);
    expect(document.components).toMatchObject({
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: { Error: { type: 'object' } },
    });
  });

  it('gives streams text/event-stream, skips HEAD and keeps undocumented routes, marked as such', () => {
    const router = new Router({ prefix: '/api' });
    router.get('/events', doc({ summary: 'live', role: 'viewer', stream: true }), ok);
    router.delete('/bare', ok);
    const document = buildOpenApiDocument([router], info);
    expect(document.paths['/api/events']?.get?.responses['200']).toEqual({
      description: 'OK',
      content: { 'text/event-stream': { schema: { type: 'string', description: 'Server-Sent Events' } } },
    });
    expect(Object.keys(document.paths['/api/events'] ?? {})).toEqual(['get']);
    expect(document.paths['/api/bare']?.delete).toMatchObject({ summary: 'undocumented', tags: ['bare'] });
    expect(routesOf([router]).map((r) => [r.method, r.path, r.doc?.summary])).toEqual([
      ['GET', '/api/events', 'live'],
      ['DELETE', '/api/bare', undefined],
    ]);
  });
});

describe('error responses', () => {
  it("lists 409 only where the route names its conflict, with the route's own words, and shared errors by reference", () => {
    const router = new Router({ prefix: '/api' });
    router.post(
      '/things/:id/close',
      doc({
        summary: 'close',
        role: 'operator',
        responses: { 200: { description: 'closed', schema: z.object({ closed: z.boolean() }) } },
        errors: { 409: 'already closed' },
      }),
      ok,
    );
    router.delete(
      '/things/:id',
      doc({
        summary: 'remove',
        role: 'admin',
        responses: { 200: { description: 'removed', schema: z.object({ removed: z.boolean() }) } },
      }),
      ok,
    );
    router.get(
      '/things',
      doc({
        summary: 'list',
        role: 'viewer',
        responses: { 200: { description: 'things', schema: z.object({ items: z.array(z.string()) }) } },
      }),
      ok,
    );
    const document = buildOpenApiDocument([router], info);
    const close = document.paths['/api/things/{id}/close']?.post?.responses ?? {};
    expect(Object.keys(close)).toEqual(['200', '400', '401', '403', '404', '409', '413', '415', '429', '503']);
    expect(close['409']).toEqual({
      description: 'already closed',
      content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
    });
    expect(close['503']).toEqual({ $ref: '#/components/responses/ServiceUnavailable' });
    // A DELETE has no body to parse and no conflict here: no 400, 409, 413 or 415.
    expect(Object.keys(document.paths['/api/things/{id}']?.delete?.responses ?? {})).toEqual([
      '200',
      '401',
      '403',
      '404',
      '429',
      '503',
    ]);
    expect(Object.keys(document.paths['/api/things']?.get?.responses ?? {})).toEqual(['200', '401', '429', '503']);
    // Only the shared responses some operation refers to are components (redocly's no-unused-components).
    expect(Object.keys((document.components as { responses: object }).responses).sort()).toEqual([
      'BadRequest',
      'Forbidden',
      'NotFound',
      'PayloadTooLarge',
      'ServiceUnavailable',
      'TooManyRequests',
      'Unauthorized',
      'UnsupportedMediaType',
    ]);
  });

  it('moves named response schemas to components.schemas and refuses two different schemas under one name', () => {
    const item = z.object({ name: z.string(), count: z.number().int() }).meta({ id: 'UnitTestItem' });
    const router = new Router();
    router.get(
      '/items',
      doc({
        summary: 'list',
        role: 'viewer',
        responses: { 200: { description: 'items', schema: z.object({ items: z.array(item) }) } },
      }),
      ok,
    );
    router.get(
      '/item',
      doc({ summary: 'one', role: 'viewer', responses: { 200: { description: 'item', schema: item } } }),
      ok,
    );
    const document = buildOpenApiDocument([router], info);
    expect(document.paths['/item']?.get?.responses['200']).toEqual({
      description: 'item',
      content: { 'application/json': { schema: { $ref: '#/components/schemas/UnitTestItem' } } },
    });
    expect(document.paths['/items']?.get?.responses['200']).toMatchObject({
      content: {
        'application/json': {
          schema: { properties: { items: { items: { $ref: '#/components/schemas/UnitTestItem' } } } },
        },
      },
    });
    // No implied ±2^53 bounds on integers.
    expect((document.components as { schemas: Record<string, unknown> }).schemas.UnitTestItem).toEqual({
      type: 'object',
      properties: { name: { type: 'string' }, count: { type: 'integer' } },
      required: ['name', 'count'],
      additionalProperties: false,
    });
    const other = z.object({ name: z.number() }).meta({ id: 'UnitTestClash' });
    const clash = z.object({ name: z.string() }).meta({ id: 'UnitTestClash' });
    const twice = new Router();
    twice.get('/a', doc({ summary: 'a', role: 'viewer', responses: { 200: { description: 'a', schema: other } } }), ok);
    twice.get(
      '/b',
      doc({ summary: 'b', role: 'viewer', responses: { 200: { description: 'b', schema: z.object({ x: clash }) } } }),
      ok,
    );
    expect(() => buildOpenApiDocument([twice], info)).toThrow(
      'two different response schemas are named "UnitTestClash"',
    );
  });

  it('gives a text body its media type', () => {
    const router = new Router();
    router.get(
      '/page',
      doc({ summary: 'page', role: 'public', responses: { 200: { description: 'html', mediaType: 'text/html' } } }),
      ok,
    );
    expect(buildOpenApiDocument([router], info).paths['/page']?.get?.responses['200']).toEqual({
      description: 'html',
      content: { 'text/html': { schema: { type: 'string' } } },
    });
  });
});

describe('renderDocsPage', () => {
  it('renders every route with its role, parameters and body fields, escaped, with no script', () => {
    const router = new Router({ prefix: '/api' });
    router.post(
      '/items/:id',
      doc({ summary: 'Make <b>an</b> item', role: 'operator', body: z.object({ name: z.string().max(20) }) }),
      ok,
    );
    const html = renderDocsPage(buildOpenApiDocument([router], info));
    expect(html).toContain('<code>/api/items/{id}</code>');
    expect(html).toContain('Make &#60;b&#62;an&#60;/b&#62; item');
    expect(html).toMatch(/<span class="role">operator<\/span>/);
    expect(html).toMatch(/<code>name<\/code><\/td><td>body<\/td><td>required<\/td><td>string …20<\/td>/);
    expect(html).toContain('<code>401</code> missing or invalid API key');
    expect(html).not.toMatch(/<script|<link|\ssrc=|https?:\/\//i);
  });
});
