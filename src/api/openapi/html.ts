import type { JsonSchema, OpenApiDocument, OpenApiOperation, OpenApiParameter } from './generate';

const STYLE = `
body{font:15px/1.5 system-ui,sans-serif;margin:0 auto;max-width:64rem;padding:1rem 2rem;color:#1d1f21}
h1{margin-bottom:.2rem}h2{border-bottom:2px solid #ddd;margin-top:2.5rem;text-transform:capitalize}
nav ul{columns:2;padding-left:1rem}nav a{text-decoration:none}
section{border:1px solid #ddd;border-radius:6px;margin:1rem 0;padding:.6rem 1rem}
h3{font-size:1rem;margin:.2rem 0}code{font:13px ui-monospace,monospace}
.method{border-radius:4px;color:#fff;display:inline-block;font:bold 12px ui-monospace,monospace;margin-right:.5rem;padding:2px 6px;min-width:3.2rem;text-align:center}
.get{background:#2b7bb9}.post{background:#2f9e44}.put{background:#c77c02}.patch{background:#7048e8}.delete{background:#c92a2a}
.role{background:#eee;border-radius:4px;float:right;font-size:12px;padding:2px 6px}
table{border-collapse:collapse;margin:.4rem 0;width:100%}th,td{border-bottom:1px solid #eee;padding:3px 6px;text-align:left;vertical-align:top}
th{font-size:12px;color:#555}caption{color:#777;text-align:left}.muted{color:#777}
`;

interface Row {
  method: string;
  path: string;
  op: OpenApiOperation;
}

/**
 * The OpenAPI document as one self-contained HTML page (`GET /docs`): every route with its method, path, role,
 * summary, parameters, body fields and responses. Rendered on the server; no script and nothing fetched.
 */
export function renderDocsPage(document: OpenApiDocument): string {
  const info = document.info as { title: string; version: string; description?: string };
  const rows: Row[] = Object.entries(document.paths).flatMap(([path, item]) =>
    Object.entries(item).map(([method, op]) => ({ method, path, op })),
  );
  const sharedResponses =
    (document.components as { responses?: Record<string, { description: string }> } | undefined)?.responses ?? {};
  const byTag = new Map<string, Row[]>();
  for (const row of rows) {
    const tag = row.op.tags[0] ?? 'other';
    byTag.set(tag, [...(byTag.get(tag) ?? []), row]);
  }
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(info.title)}</title><style>${STYLE}</style></head>
<body>
<h1>${esc(info.title)} <small class="muted">${esc(info.version)}</small></h1>
${info.description ? `<p>${esc(info.description)}</p>` : ''}
<p>Every <code>/api</code> route needs <code>Authorization: Bearer &lt;key&gt;</code> with at least the role shown. Errors are
<code>{"error": {"code", "message", "details"}}</code>. The machine-readable document is <a href="/api/openapi.json"><code>GET /api/openapi.json</code></a> (OpenAPI ${esc(document.openapi)}).</p>
<nav><ul>${[...byTag.keys()].map((tag) => `<li><a href="#tag-${esc(tag)}">${esc(tag)}</a> <span class="muted">(${byTag.get(tag)?.length ?? 0})</span></li>`).join('')}</ul></nav>
${[...byTag].map(([tag, tagRows]) => `<h2 id="tag-${esc(tag)}">${esc(tag)}</h2>\n${tagRows.map((row) => renderOperation(row, sharedResponses)).join('\n')}`).join('\n')}
</body></html>
`;
}

function renderOperation({ method, path, op }: Row, sharedResponses: Record<string, { description: string }>): string {
  const parameters = op.parameters ?? [];
  const body = op.requestBody?.content['application/json']?.schema;
  return `<section id="${esc(op.operationId)}">
<h3><span class="method ${esc(method)}">${esc(method.toUpperCase())}</span><code>${esc(path)}</code><span class="role">${esc(op['x-required-role'] ?? 'undocumented')}</span></h3>
<p>${esc(op.summary)}</p>
${parameters.length > 0 ? fieldTable('Parameters', parameters.map(parameterRow)) : ''}
${body !== undefined ? bodyTable(body, op.requestBody?.required ?? false) : ''}
${responsesList(op.responses, sharedResponses)}
</section>`;
}

function parameterRow(p: OpenApiParameter): string[] {
  return [
    `<code>${esc(p.name)}</code>`,
    esc(p.in),
    p.required ? 'required' : 'optional',
    esc(summarize(p.schema)),
    esc(p.description ?? ''),
  ];
}

function bodyTable(schema: JsonSchema, required: boolean): string {
  const properties = schema.properties as Record<string, JsonSchema> | undefined;
  const title = `JSON body${required ? '' : ' (optional)'}`;
  if (properties === undefined) return `<p><b>${esc(title)}</b>: ${esc(summarize(schema))}</p>`;
  const requiredFields = new Set((schema.required ?? []) as string[]);
  const rows = Object.entries(properties).map(([name, field]) => [
    `<code>${esc(name)}</code>`,
    'body',
    requiredFields.has(name) ? 'required' : 'optional',
    esc(summarize(field)),
    esc(typeof field.description === 'string' ? field.description : ''),
  ]);
  return fieldTable(title, rows);
}

function fieldTable(title: string, rows: string[][]): string {
  return `<table><caption>${esc(title)}</caption>
<tr><th>name</th><th>in</th><th></th><th>type</th><th>description</th></tr>
${rows.map((cells) => `<tr>${cells.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('\n')}</table>`;
}

/** Status and description of each response; a shared one (`$ref`) by the description of its component. */
function responsesList(
  responses: Record<string, unknown>,
  sharedResponses: Record<string, { description: string }>,
): string {
  const items = Object.entries(responses).map(([status, response]) => {
    const r = response as { description?: string; $ref?: string };
    const description = r.description ?? sharedResponses[r.$ref?.split('/').pop() ?? '']?.description ?? '';
    return `<code>${esc(status)}</code> ${esc(description)}`;
  });
  return `<p class="muted">Responses: ${items.join(' · ')}</p>`;
}

/** A JSON Schema in a few words: `integer 1…100, default 50`, `one of: a, b`, `string (date-time)`. */
function summarize(schema: JsonSchema): string {
  const alternatives = (schema.anyOf ?? schema.oneOf) as JsonSchema[] | undefined;
  if (alternatives !== undefined) return alternatives.map(summarize).join(' or ');
  const parts: string[] = [];
  if (Array.isArray(schema.enum)) parts.push(`one of: ${schema.enum.map((v) => JSON.stringify(v)).join(', ')}`);
  else if ('const' in schema) parts.push(`exactly ${JSON.stringify(schema.const)}`);
  else if (typeof schema.type === 'string' || Array.isArray(schema.type)) parts.push([schema.type].flat().join(' | '));
  else parts.push('any');
  if (typeof schema.format === 'string') parts.push(`(${schema.format})`);
  const min = schema.minimum ?? schema.minLength ?? schema.minItems;
  const max = schema.maximum ?? schema.maxLength ?? schema.maxItems;
  if (min !== undefined || max !== undefined) parts.push(`${String(min ?? '')}…${String(max ?? '')}`);
  if (typeof schema.pattern === 'string' && schema.format === undefined) parts.push(`matching ${schema.pattern}`);
  const text = parts.join(' ');
  return 'default' in schema ? `${text}, default ${JSON.stringify(schema.default)}` : text;
}

function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
