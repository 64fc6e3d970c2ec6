import { Client, Connection, type ConnectionLike } from '@temporalio/client';
import type { Config } from '../config';

/** The frontend address: TEMPORAL_ADDRESS, else the local dev server the dev command starts. */
export function temporalAddress(temporal: Config['temporal']): string {
  return temporal.address ?? `127.0.0.1:${temporal.devPort}`;
}

/** Connection options for a local dev server, a self-hosted cluster (TLS) or Temporal Cloud (API key). */
export function connectionOptions(temporal: Config['temporal']): {
  address: string;
  tls?: Record<string, never>;
  apiKey?: string;
  metadata?: Record<string, string>;
} {
  return {
    address: temporalAddress(temporal),
    tls: temporal.tls || temporal.apiKey !== undefined ? {} : undefined,
    apiKey: temporal.apiKey,
    metadata: temporal.apiKey !== undefined ? { 'temporal-namespace': temporal.namespace } : undefined,
  };
}

/**
 * A client over a lazy connection: it connects on first use, so the API starts (and reports 503 on /readyz)
 * while Temporal is down, and recovers by itself when it comes back.
 */
export function createTemporalClient(temporal: Config['temporal']): Client {
  const connection = Connection.lazy(connectionOptions(temporal));
  return new Client({ connection, namespace: temporal.namespace });
}

/** True when the Temporal frontend answers its health check within `timeoutMs`. */
export async function temporalAnswers(connection: ConnectionLike, timeoutMs = 2000): Promise<boolean> {
  try {
    await connection.withDeadline(Date.now() + timeoutMs, () => connection.workflowService.getSystemInfo({}));
    return true;
  } catch {
    return false;
  }
}
