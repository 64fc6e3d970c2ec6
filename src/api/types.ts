import type { ParameterizedContext } from 'koa';
import type { ApiKeyRole } from '../db/entities';

export interface AuthContext {
  keyId: string;
  name: string;
  role: ApiKeyRole;
}

/** What middleware puts on `ctx.state`. */
export interface AppState {
  requestId: string;
  auth?: AuthContext;
  /** Set by a handler to name what a mutating call acted on, for the audit log (default: the route's :id). */
  auditTarget?: string;
  /** Why the request body could not be parsed; thrown by `requireRole` once the key's role is known to suffice. */
  bodyError?: unknown;
}

export type AppContext = ParameterizedContext<AppState>;
