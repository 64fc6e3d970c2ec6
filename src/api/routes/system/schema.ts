import { z } from 'zod';
import { API_KEY_ROLES } from '../../../db/entities';
import { QUEUE_KINDS } from '../../../contracts';

const upDown = z.enum(['up', 'down']);
const queues = z
  .object(
    Object.fromEntries(
      QUEUE_KINDS.map((k) => [k, z.object({ queue: z.string(), workers: z.number().int() })]),
    ) as Record<(typeof QUEUE_KINDS)[number], z.ZodObject<{ queue: z.ZodString; workers: z.ZodNumber }>>,
  )
  .describe('the live workers polling each task queue');
const isolation = z
  .string()
  .describe('the isolation mode the live workers run target code under (`bwrap`, `process`), `mixed` or `unknown`');

export const healthResponse = z.object({ status: z.literal('ok') });

export const readyResponse = z.object({
  status: z.literal('ready'),
  checks: z.object({ database: upDown, temporal: upDown }),
  sandbox: z.object({ isolation, workers: z.number().int() }),
  queues,
});

export const systemResponse = z.object({
  database: upDown,
  temporal: upDown,
  sandbox: z.object({
    isolation,
    workers: z.array(
      z.object({
        identity: z.string(),
        host: z.string(),
        pid: z.number().int(),
        taskQueue: z.string().describe('the task queues it polls, comma-separated'),
        queues: z.array(z.string()),
        sandbox: z
          .record(z.string(), z.unknown())
          .describe('its sandbox isolation and limits; empty for a worker that runs no target code'),
        startedAt: z.string(),
        seenAt: z.string(),
      }),
    ),
  }),
  queues,
  llm: z.object({
    providers: z.array(z.enum(['openai', 'anthropic'])).describe('the providers configured'),
    profiles: z
      .object({
        primary: z.string().nullable(),
        fallback: z.string().nullable(),
        examiner: z.string().nullable(),
        judge: z.string().nullable(),
      })
      .describe('each as `provider:model`'),
  }),
});

export const meResponse = z.object({ name: z.string().nullable(), role: z.enum(API_KEY_ROLES).nullable() });

/** The OpenAPI document: its top-level fields (the rest is OpenAPI 3.1's own schema). */
export const openApiResponse = z.looseObject({
  openapi: z.string(),
  info: z.looseObject({ title: z.string(), version: z.string() }),
  paths: z.record(z.string(), z.record(z.string(), z.unknown())),
});
