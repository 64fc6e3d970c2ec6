import type { ConsoleConfig, Me, Role } from './api';
import { h } from './dom';

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

/** What a page gets: who is signed in, the route's params and query, and a place to register cleanup (streams). */
export interface PageContext {
  me: Me;
  config: ConsoleConfig;
  params: string[];
  query: URLSearchParams;
  /** whether the key's role allows an action needing `role`: buttons are shown only then */
  can(role: Role): boolean;
  onLeave(fn: () => void): void;
  /** re-renders the current route */
  reload(): void;
}

export function canAct(me: Me, role: Role): boolean {
  return RANK[me.role] >= RANK[role];
}

/** A workflow id linked to its run in the Temporal UI (`TEMPORAL_UI_URL`, else this host on `TEMPORAL_UI_PORT`). */
export function workflowLink(config: ConsoleConfig, workflowId: string | null | undefined): HTMLElement | string {
  if (!workflowId) return '—';
  const base = config.temporalUiUrl ?? `${location.protocol}//${location.hostname}:${config.temporalUiPort}`;
  const href = `${base}/namespaces/${encodeURIComponent(config.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
  return h('a', { href, target: '_blank', rel: 'noopener', class: 'wf', title: 'Open in the Temporal UI' }, workflowId);
}
