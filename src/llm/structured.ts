import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { ChatMessage, ProviderReply } from './types';

const jsonSchemas = new WeakMap<z.ZodType, Record<string, unknown>>();

/** The JSON Schema sent to the provider for a zod schema (computed once per schema). */
export function jsonSchemaFor(schema: z.ZodType): Record<string, unknown> {
  let json = jsonSchemas.get(schema);
  if (json === undefined) {
    json = z.toJSONSchema(schema, { target: 'draft-7', unrepresentable: 'any' }) as Record<string, unknown>;
    // Providers want the schema itself, not the dialect marker.
    delete json.$schema;
    jsonSchemas.set(schema, json);
  }
  return json;
}

/** A schema name the providers accept (letters, digits, `_`, `-`; at most 64 characters). */
export function schemaNameFor(name: string | undefined, purpose: string): string {
  return (name ?? purpose).replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64) || 'output';
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; problem: string };

/**
 * Reads a reply as the schema's type: the provider's structured output when it gave one, else the text as JSON
 * (tolerating a Markdown code fence). Never throws: a failure says what was wrong, for the repair prompt.
 */
export function parseStructured<T>(schema: z.ZodType<T>, reply: ProviderReply): Parsed<T> {
  let candidate: unknown = reply.json;
  if (candidate === undefined) {
    const text = stripFence(reply.text);
    try {
      candidate = JSON.parse(text);
    } catch (err) {
      return { ok: false, problem: `the reply is not valid JSON (${(err as Error).message})` };
    }
  }
  const result = schema.safeParse(candidate);
  if (result.success) return { ok: true, value: result.data };
  const issues = result.error.issues
    .slice(0, 10)
    .map((i) => `${i.path.length > 0 ? i.path.join('.') : '(root)'}: ${i.message}`)
    .join('; ');
  return { ok: false, problem: `the JSON does not match the schema (${issues})` };
}

function stripFence(text: string): string {
  const fenced = /^\s*```(?:json)?\s*([\s\S]*?)\s*```\s*$/i.exec(text);
  return (fenced?.[1] ?? text).trim();
}

/** The one repair turn: the bad reply, what was wrong with it, and the schema again. */
export function repairMessages(
  messages: ChatMessage[],
  badReply: string,
  problem: string,
  jsonSchema: Record<string, unknown>,
): ChatMessage[] {
  return [
    ...messages,
    { role: 'assistant', content: badReply === '' ? '(empty reply)' : badReply },
    {
      role: 'user',
      content:
        `Your previous reply could not be used: ${problem}. Reply again with only a JSON value that matches this ` +
        `JSON Schema, with no other text:\n${JSON.stringify(jsonSchema)}`,
    },
  ];
}

/** The cache key: a hash of everything that determines the answer. */
export function cacheKey(parts: {
  provider: string;
  model: string;
  messages: ChatMessage[];
  jsonSchema: Record<string, unknown> | undefined;
  temperature: number;
  maxTokens: number;
}): string {
  const material = JSON.stringify([
    parts.provider,
    parts.model,
    parts.messages,
    parts.jsonSchema ?? null,
    parts.temperature,
    parts.maxTokens,
  ]);
  return createHash('sha256').update(material).digest('hex');
}
