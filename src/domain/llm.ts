import { AGENT_IDS, type AgentId } from './agents';

/** Pure rules of the LLM gateway: profiles, budget scopes and months, token estimates, warning thresholds. */

export const LLM_PROVIDERS = ['openai', 'anthropic'] as const;
export type LlmProvider = (typeof LLM_PROVIDERS)[number];

/** Which model answers: `provider:model` in config (the model may itself contain colons, e.g. `llama3.1:8b`). */
export interface LlmProfile {
  provider: LlmProvider;
  model: string;
}

/** The named profiles a caller may ask for instead of its agent's (or the primary) profile. */
export const LLM_PROFILE_ROLES = ['primary', 'fallback', 'examiner', 'judge'] as const;
export type LlmProfileRole = (typeof LLM_PROFILE_ROLES)[number];

/** Parses `provider:model`; undefined when it is not one. */
export function parseProfile(text: string): LlmProfile | undefined {
  const at = text.indexOf(':');
  if (at <= 0) return undefined;
  const provider = text.slice(0, at).trim();
  const model = text.slice(at + 1).trim();
  if (!(LLM_PROVIDERS as readonly string[]).includes(provider) || model === '') return undefined;
  return { provider: provider as LlmProvider, model };
}

export function formatProfile(profile: LlmProfile): string {
  return `${profile.provider}:${profile.model}`;
}

/** Budget scopes: the whole system, one agent, or one provider. */
export type BudgetScope = 'global' | `agent:${AgentId}` | `provider:${LlmProvider}`;

export function isBudgetScope(value: string): value is BudgetScope {
  if (value === 'global') return true;
  const [kind, id] = value.split(':', 2);
  if (kind === 'agent') return (AGENT_IDS as readonly string[]).includes(id ?? '');
  if (kind === 'provider') return (LLM_PROVIDERS as readonly string[]).includes(id ?? '');
  return false;
}

/** The scopes one call is charged to, sorted so concurrent transactions lock them in the same order. */
export function scopesFor(agentId: AgentId | undefined, provider: LlmProvider): BudgetScope[] {
  const scopes: BudgetScope[] = ['global', `provider:${provider}`];
  if (agentId !== undefined) scopes.push(`agent:${agentId}`);
  return scopes.sort();
}

/** Budgets are monthly, in UTC: `YYYY-MM`. */
export function budgetMonth(at: Date): string {
  return at.toISOString().slice(0, 7);
}

/**
 * A deliberately high estimate of a request's input tokens (about 3 characters per token, plus per-message
 * framing), so that a reservation covers the real usage in all but pathological cases.
 */
export function estimateInputTokens(messages: ReadonlyArray<{ content: string }>, schemaChars = 0): number {
  const chars = messages.reduce((sum, m) => sum + m.content.length, 0) + schemaChars;
  return Math.ceil(chars / 3) + 8 * messages.length + 16;
}

export const BUDGET_WARNING_THRESHOLDS = [80, 95] as const;

/** The warning thresholds (in percent) that `used` of `limit` has reached. */
export function thresholdsReached(used: number, limit: number | null): number[] {
  if (limit === null || limit <= 0) return [];
  const pct = (used / limit) * 100;
  return BUDGET_WARNING_THRESHOLDS.filter((t) => pct >= t);
}

/** Every scope a budget can be set on, in display order. */
export const BUDGET_SCOPES: readonly BudgetScope[] = [
  'global',
  ...AGENT_IDS.map((id) => `agent:${id}` as const),
  ...LLM_PROVIDERS.map((p) => `provider:${p}` as const),
];

export interface BudgetLimits {
  monthlyTokens: number | null;
  monthlyUsd: number | null;
}

/**
 * The limits in force for a scope: its stored budget; for `global` without one, the configured default
 * (LLM_BUDGET_MONTHLY_TOKENS / _USD); otherwise none.
 */
export function effectiveBudget(
  scope: BudgetScope,
  stored: BudgetLimits | undefined,
  globalDefault: BudgetLimits,
): BudgetLimits & { source: 'stored' | 'default' | 'none' } {
  if (stored !== undefined) return { ...pickLimits(stored), source: 'stored' };
  if (scope === 'global') return { ...pickLimits(globalDefault), source: 'default' };
  return { monthlyTokens: null, monthlyUsd: null, source: 'none' };
}

function pickLimits(l: BudgetLimits): BudgetLimits {
  return { monthlyTokens: l.monthlyTokens, monthlyUsd: l.monthlyUsd };
}
