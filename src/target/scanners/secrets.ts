import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { z } from 'zod';
import { MAX_FILES, type FileWalk, type ScannedFile } from './files';
import type { FindingDraft, Severity, ToolOutcome } from './types';

const PRESET_ID = '@secretlint/secretlint-rule-preset-recommend';
const MASK = '****';

/**
 * Rules whose secrets are critical: cloud-provider / infrastructure credentials and private keys (direct access to
 * infrastructure or identities). Every other secretlint rule (SaaS API tokens, npm/GitHub/Slack tokens, basic auth,
 * database connection strings…) is `high`.
 */
const CRITICAL_RULES: ReadonlySet<string> = new Set(
  ['aws', 'gcp', 'azure', 'privatekey', 'cloudflare', 'databricks', 'hashicorp-vault'].map(
    (r) => `@secretlint/secretlint-rule-${r}`,
  ),
);

/** The severity of a secretlint rule id (see CRITICAL_RULES). */
export function secretSeverity(ruleId: string): Severity {
  return CRITICAL_RULES.has(ruleId) ? 'critical' : 'high';
}

/*
 * The secretlint packages are ESM-only. The worker loads them with Node's own loader, whatever runs this module
 * (the CommonJS build, ts-node, jest's module runtime), keeps a slow regex scan off the event loop and can be
 * terminated on timeout. It reads the files itself (at most one file's content in memory at a time) and skips binary
 * ones. Secret values never leave it: it masks them in the message and in the line, which it finds by searching for
 * the reported value from the start of the reported range — secretlint's ranges and columns do not always point at
 * the value itself (the AWS secret-key rule reports the start of `awsSecretAccessKey: '…` with the value's length).
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { readFile } = require('node:fs/promises');
const MASK = '${MASK}';
const maskAll = (text, values) => values.reduce((t, v) => t.split(v).join(MASK), text);
function describe(m, content, file) {
  const values = Object.values(m.data || {}).filter((v) => typeof v === 'string')
    .flatMap((v) => [v, ...v.split(/\\r?\\n/)]).filter((v) => v.length >= 4).sort((a, b) => b.length - a.length);
  const [from, to] = m.range;
  const found = values.length > 0 ? content.indexOf(values[0], from) : -1;
  const start = found === -1 ? from : found;
  const end = found === -1 ? to : found + values[0].length;
  const lineStart = content.lastIndexOf('\\n', start - 1) + 1;
  const newline = content.indexOf('\\n', start);
  const lineEnd = newline === -1 ? content.length : newline;
  const masked = content.slice(lineStart, start) + MASK + content.slice(Math.min(end, lineEnd), lineEnd);
  return { file, ruleId: m.ruleId, messageId: m.messageId, docsUrl: m.docsUrl, message: maskAll(m.message, values),
    line: content.slice(0, start).split('\\n').length, maskedLine: maskAll(masked, values) };
}
(async () => {
  const { lintSource } = await import(workerData.coreUrl);
  const { creator } = await import(workerData.presetUrl);
  const config = { rules: [{ id: workerData.presetId, rule: creator }] };
  const messages = [];
  let binary = 0;
  for (const file of workerData.files) {
    const buffer = await readFile(file.absolute);
    if (buffer.subarray(0, 8192).includes(0)) { binary += 1; continue; }
    const content = buffer.toString('utf8');
    const source = { content, filePath: file.absolute, contentType: 'text' };
    const result = await lintSource({ source, options: { maskSecrets: false, config } });
    for (const m of result.messages) messages.push(describe(m, content, file.relative));
  }
  parentPort.postMessage({ messages, binary });
})().catch((err) => parentPort.postMessage({ error: String((err && err.stack) || err) }));
`;

const secretMessage = z.object({
  file: z.string(),
  ruleId: z.string(),
  messageId: z.string(),
  message: z.string(),
  docsUrl: z.string().optional(),
  line: z.number().int(),
  maskedLine: z.string(),
});
type SecretMessage = z.infer<typeof secretMessage>;
const workerReply = z.union([
  z.object({ messages: z.array(secretMessage), binary: z.number().int() }),
  z.object({ error: z.string() }),
]);

/** Scans every text file of the walk with secretlint's recommended preset. Throws when secretlint cannot run. */
export async function scanSecrets(files: Promise<FileWalk>, timeoutMs: number): Promise<ToolOutcome> {
  const walk = await files;
  const reply = await runWorker(walk.files, timeoutMs);
  if ('error' in reply) throw new Error(`secretlint failed: ${reply.error}`);
  const notes = [`scanned ${walk.files.length - reply.binary} text files`];
  if (reply.binary > 0) notes.push(`${reply.binary} binary skipped`);
  if (walk.skippedLarge > 0) notes.push(`${walk.skippedLarge} over 1 MB skipped`);
  if (walk.truncated) notes.push(`stopped at ${MAX_FILES} files`);
  return { status: 'ok', detail: notes.join(', '), findings: reply.messages.map(toDraft) };
}

function toDraft(m: SecretMessage): FindingDraft {
  return {
    tool: 'secretlint',
    rule: m.ruleId,
    severity: secretSeverity(m.ruleId),
    title: `Hard-coded secret (${m.messageId})`,
    message: m.message,
    file: m.file,
    line: m.line,
    snippet: m.maskedLine,
    data: { messageId: m.messageId, docsUrl: m.docsUrl, maskedLine: m.maskedLine.trim() },
  };
}

function runWorker(files: ScannedFile[], timeoutMs: number): Promise<z.infer<typeof workerReply>> {
  const workerData = {
    coreUrl: pathToFileURL(require.resolve('@secretlint/core')).href,
    presetUrl: pathToFileURL(require.resolve(PRESET_ID)).href,
    presetId: PRESET_ID,
    files,
  };
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData,
      resourceLimits: { maxOldGenerationSizeMb: 512 },
    });
    const timer = setTimeout(() => {
      void worker.terminate();
      reject(new Error(`secretlint timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    const settle = (): void => clearTimeout(timer);
    worker.once('message', (raw: unknown) => {
      settle();
      void worker.terminate();
      const parsed = workerReply.safeParse(raw);
      if (parsed.success) resolve(parsed.data);
      else reject(new Error(`secretlint worker sent an unexpected reply: ${parsed.error.message}`));
    });
    worker.once('error', (err) => {
      settle();
      reject(err);
    });
    worker.once('exit', (code) => {
      settle();
      reject(new Error(`secretlint worker exited with code ${code}`));
    });
  });
}
