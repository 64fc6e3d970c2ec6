import { z } from 'zod';
import { version } from '../../../package.json';
import { docOf, type RouteDoc } from './doc';

/** The parts of a koa-router `Router` the generator reads: its layers (one per `router.get(…)` and the like). */
export interface RouterLike {
  stack: ReadonlyArray<{
    path: string | RegExp;
    methods: readonly string[];
    paramNames: ReadonlyArray<{ name: string | number }>;
    stack: readonly unknown[];
  }>;
}

/** One method × path of a router, with its `doc()` metadata when it has some. */
export interface RouteEntry {
  method: string;
  /** the koa path, `:param` style, prefixes included */
  path: string;
  paramNames: string[];
  doc: RouteDoc | undefined;
}

export type JsonSchema = Record<string, unknown>;
export interface OpenApiInfo {
  title: string;
  version: string;
  description?: string;
  license?: { name: string; identifier?: string; url?: string };
}
export type OpenApiDocument = Record<string, unknown> & {
  openapi: string;
  paths: Record<string, Record<string, OpenApiOperation>>;
};
export interface OpenApiOperation {
  operationId: string;
  summary: string;
  tags: string[];
  'x-required-role'?: string;
  security?: unknown[];
  parameters?: OpenApiParameter[];
  requestBody?: { required: boolean; content: Record<string, { schema: JsonSchema }> };
  responses: Record<string, unknown>;
}
export interface OpenApiParameter {
  name: string;
  in: 'path' | 'query';
  required: boolean;
  description?: string;
  schema: JsonSchema;
}

/** What the document says of the API itself. */
export const API_INFO: OpenApiInfo = {
  title: 'Lvl_UP API',
  version,
  description: 'Four AI agents that earn, by passing exams, the right to improve a code repository.',
  license: { name: 'UNLICENSED' },
};

/** The one error shape of every failure (ARCHITECTURE §5). */
const errorBody = z.object({
  error: z.object({
    code: z.string().describe('stable, machine-readable'),
    message: z.string(),
    details: z.unknown().optional(),
  }),
});

const ERROR_RESPONSES = {
  400: ['BadRequest', 'invalid input (`details` names each invalid field) or a body that is not JSON'],
  401: ['Unauthorized', 'missing or invalid API key'],
  403: ['Forbidden', "the key's role is too low"],
  404: ['NotFound', 'no such resource'],
  409: ['Conflict', 'conflict or wrong state'],
  413: ['PayloadTooLarge', 'the body is larger than API_BODY_LIMIT_BYTES'],
  415: ['UnsupportedMediaType', 'a body in an unsupported content encoding or charset'],
  429: ['TooManyRequests', 'rate limited; retry after `Retry-After` seconds'],
  503: [
    'ServiceUnavailable',
    'a dependency (the database, Temporal) is unavailable; retry after `Retry-After` seconds when given',
  ],
} as const;
type ErrorStatus = keyof typeof ERROR_RESPONSES;
/** The methods whose body the body parser reads (a malformed, oversized or undecodable body fails them). */
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

/** The routers a Koa app has mounted (`app.use(router.routes())`), in mounting order: what the app really serves. */
export function mountedRouters(app: { middleware: readonly unknown[] }): RouterLike[] {
  return app.middleware.flatMap((m) => {
    const router = (m as { router?: RouterLike }).router;
    return router === undefined ? [] : [router];
  });
}

/**
 * Every route (method × path) of the routers, in declaration order. HEAD is skipped (koa-router adds it to every GET),
 * and so are layers without methods (`router.use` middleware such as `allowedMethods`).
 */
export function routesOf(routers: readonly RouterLike[]): RouteEntry[] {
  return routers.flatMap((router) =>
    router.stack.flatMap((layer) =>
      typeof layer.path !== 'string'
        ? []
        : layer.methods
            .filter((m) => m !== 'HEAD')
            .map((method) => ({
              method,
              path: layer.path as string,
              paramNames: layer.paramNames.map((p) => String(p.name)),
              doc: docOf(layer.stack),
            })),
    ),
  );
}

/**
 * Builds the OpenAPI 3.1 document of the routers' routes from their `doc()` metadata: zod schemas become JSON Schema
 * (draft 2020-12, the input side: what a client sends). A route without `doc()` is still listed, as undocumented.
 */
export function buildOpenApiDocument(routers: readonly RouterLike[], info: OpenApiInfo): OpenApiDocument {
  const paths: OpenApiDocument['paths'] = {};
  const named: NamedSchemas = new Map();
  for (const route of routesOf(routers)) {
    const path = openApiPath(route.path);
    paths[path] = { ...paths[path], [route.method.toLowerCase()]: operation(route, named) };
  }
  const used = new Set(JSON.stringify(paths).match(/#\/components\/responses\/[A-Za-z]+/g));
  return {
    openapi: '3.1.0',
    info,
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    servers: [{ url: '/', description: 'the server that serves this document' }],
    security: [{ bearer: [] }],
    paths,
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'an API key: `Authorization: Bearer <key>`' },
      },
      // The response schemas that name themselves (`.meta({ id })`), for client generators to name their types after.
      schemas: {
        Error: jsonSchema(errorBody, 'output'),
        ...Object.fromEntries([...named].sort(([a], [b]) => a.localeCompare(b))),
      },
      // The shared error responses some operation refers to.
      responses: Object.fromEntries(
        Object.entries(ERROR_RESPONSES)
          .filter(([, [name]]) => used.has(`#/components/responses/${name}`))
          .map(([status, [name, description]]) => [
            name,
            {
              description,
              ...((status === '429' || status === '503') && {
                headers: { 'Retry-After': { description: 'seconds to wait', schema: { type: 'integer' } } },
              }),
              content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
            },
          ]),
      ),
    },
  };
}

/** koa's `/agents/:id` as OpenAPI's `/agents/{id}`. */
export function openApiPath(koaPath: string): string {
  return koaPath.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

function operation(route: RouteEntry, named: NamedSchemas): OpenApiOperation {
  const { doc } = route;
  const parameters = [...pathParameters(route), ...(doc?.query ? objectParameters(doc.query, 'query') : [])];
  const body = doc?.body;
  return {
    operationId: operationId(route),
    summary: doc?.summary ?? 'undocumented',
    tags: doc?.tags ?? [areaOf(route.path)],
    ...(doc !== undefined && { 'x-required-role': doc.role }),
    ...(doc?.role === 'public' && { security: [] }),
    ...(parameters.length > 0 && { parameters }),
    ...(body !== undefined && {
      requestBody: {
        required: !body.safeParse(undefined).success,
        content: { 'application/json': { schema: jsonSchema(body, 'input') } },
      },
    }),
    responses: responses(route, named),
  };
}

/** One required parameter per `:param` of the path, typed by `doc.params` where it names it. */
function pathParameters(route: RouteEntry): OpenApiParameter[] {
  const documented = route.doc?.params ? objectParameters(route.doc.params, 'path') : [];
  return route.paramNames.map((name) => ({
    ...(documented.find((p) => p.name === name) ?? { name, in: 'path', schema: { type: 'string' } }),
    required: true,
  }));
}

/** A zod object's properties as parameters (a non-object schema yields none: there is nothing to name). */
function objectParameters(schema: z.ZodType, location: 'path' | 'query'): OpenApiParameter[] {
  const json = jsonSchema(schema, 'input');
  const properties = (json.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((json.required ?? []) as string[]);
  return Object.entries(properties).map(([name, { description, ...propertySchema }]) => ({
    name,
    in: location,
    required: required.has(name),
    ...(typeof description === 'string' && { description }),
    schema: propertySchema,
  }));
}

function responses(route: RouteEntry, named: NamedSchemas): Record<string, unknown> {
  const { doc } = route;
  const listed = doc?.responses ?? { 200: { description: 'OK' } };
  const out: Record<string, unknown> = {};
  for (const [status, { description, schema, mediaType }] of Object.entries(listed)) {
    const content =
      doc?.stream === true && Number(status) < 300
        ? { 'text/event-stream': { schema: { type: 'string', description: 'Server-Sent Events' } } }
        : mediaType !== undefined
          ? { [mediaType]: { schema: { type: 'string' } } }
          : schema !== undefined
            ? { 'application/json': { schema: componentized(jsonSchema(schema, 'output'), named) } }
            : Number(status) >= 400
              ? { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } }
              : undefined;
    out[status] = { description, ...(content !== undefined && { content }) };
  }
  const own = doc?.errors ?? {};
  for (const status of errorStatuses(route)) {
    const description = own[status as keyof typeof own];
    out[status] ??=
      description === undefined
        ? { $ref: `#/components/responses/${ERROR_RESPONSES[status][0]}` }
        : { description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
  }
  return out;
}

/**
 * The shared errors a route can answer: 400 with input (or a body to parse), 401/403/429/503 under `/api` auth (the
 * key is looked up in the database; 403 above viewer), 404 with a path id, 413/415 with a body, and the route's own
 * `errors` (409 only there).
 */
function errorStatuses({ method, paramNames, doc }: RouteEntry): ErrorStatus[] {
  const role = doc?.role;
  const secured = role !== 'public';
  const own = Object.keys(doc?.errors ?? {}).map(Number);
  const statuses = new Set<ErrorStatus>();
  if (doc?.params !== undefined || doc?.query !== undefined || doc?.body !== undefined || BODY_METHODS.has(method))
    statuses.add(400);
  if (secured) statuses.add(401);
  if (secured && role !== 'viewer') statuses.add(403);
  if (paramNames.length > 0 || own.includes(404)) statuses.add(404);
  if (own.includes(409)) statuses.add(409);
  if (BODY_METHODS.has(method)) statuses.add(413).add(415);
  if (secured) statuses.add(429).add(503);
  if (own.includes(503)) statuses.add(503);
  return [...statuses];
}

/** A zod schema as JSON Schema 2020-12; what JSON cannot say (transforms, dates, refinements) becomes "any". */
function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const json = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as JsonSchema;
  delete json.$schema; // the document's `jsonSchemaDialect` says it once
  // An integer's implied ±2^53 bounds say nothing a client needs; they are left out.
  const implied = (key: string, value: unknown) =>
    (key === 'minimum' && value === Number.MIN_SAFE_INTEGER) ||
    (key === 'maximum' && value === Number.MAX_SAFE_INTEGER);
  return JSON.parse(
    JSON.stringify(json, (key, value: unknown) => (implied(key, value) ? undefined : value)),
  ) as JsonSchema;
}

/** Schemas by their `.meta({ id })`, gathered into `components.schemas`. */
type NamedSchemas = Map<string, JsonSchema>;

/**
 * `json` with the named schemas zod put in its `$defs` moved to `named` (the document's `components.schemas`) and its
 * `#/$defs/<id>` references pointed there. Two different schemas under one id would make the document lie: it throws.
 */
function componentized(json: JsonSchema, named: NamedSchemas): JsonSchema {
  const retarget = (value: JsonSchema): JsonSchema =>
    JSON.parse(JSON.stringify(value).replaceAll('"#/$defs/', '"#/components/schemas/')) as JsonSchema;
  const { $defs, ...rest } = json as JsonSchema & { $defs?: Record<string, JsonSchema> };
  for (const [id, def] of Object.entries($defs ?? {})) {
    const schema = retarget(def);
    const known = named.get(id);
    if (known !== undefined && JSON.stringify(known) !== JSON.stringify(schema))
      throw new Error(`two different response schemas are named "${id}"`);
    named.set(id, schema);
  }
  return retarget(rest);
}

/** `/api/token-usage/:scope` → `token-usage`; routes outside `/api` are `system`. */
function areaOf(path: string): string {
  const [first, second] = path.split('/').filter((s) => s !== '');
  return first === 'api' && second !== undefined ? second : 'system';
}

/** `PUT /api/token-usage/budgets/:scope` → `putTokenUsageBudgetsByScope`, for client generators. */
function operationId({ method, path }: RouteEntry): string {
  const words = path
    .split('/')
    .filter((s, i) => s !== '' && !(i === 1 && s === 'api'))
    .flatMap((s) => (s.startsWith(':') ? ['by', ...s.slice(1).split(/[^A-Za-z0-9]+/)] : s.split(/[^A-Za-z0-9]+/)))
    .filter((w) => w !== '');
  return method.toLowerCase() + words.map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join('');
}

/** The document of everything `app` serves, built on first use (when every router is mounted) and then kept. */
export function lazyOpenApiDocument(app: { middleware: readonly unknown[] }, info: OpenApiInfo): () => OpenApiDocument {
  let document: OpenApiDocument | undefined;
  return () => (document ??= buildOpenApiDocument(mountedRouters(app), info));
}
