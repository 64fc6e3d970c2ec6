/**
 * List prices in USD per million tokens (input, output), checked against the providers' public price pages in
 * November 2026. A model is priced by the longest entry its name starts with (so dated snapshots such as
 * `gpt-4o-mini-2024-07-18` match). `LLM_PRICES` entries (`provider:model`) override and extend it. A model found in
 * neither (a local Ollama or vLLM model) has an unknown cost: `null`, never 0.
 */
export const PRICES_PER_MILLION: Readonly<Record<string, { input: number; output: number }>> = {
  'gpt-5': { input: 1.25, output: 10 },
  'gpt-5-mini': { input: 0.25, output: 2 },
  'gpt-5-nano': { input: 0.05, output: 0.4 },
  'gpt-4.1': { input: 2, output: 8 },
  'gpt-4.1-mini': { input: 0.4, output: 1.6 },
  'gpt-4.1-nano': { input: 0.1, output: 0.4 },
  'gpt-4o': { input: 2.5, output: 10 },
  'gpt-4o-mini': { input: 0.15, output: 0.6 },
  o3: { input: 2, output: 8 },
  'o3-mini': { input: 1.1, output: 4.4 },
  'o4-mini': { input: 1.1, output: 4.4 },
  'claude-opus-4-5': { input: 5, output: 25 },
  'claude-opus-4': { input: 15, output: 75 },
  'claude-sonnet-4': { input: 3, output: 15 },
  'claude-haiku-4-5': { input: 1, output: 5 },
  'claude-3-7-sonnet': { input: 3, output: 15 },
  'claude-3-5-sonnet': { input: 3, output: 15 },
  'claude-3-5-haiku': { input: 0.8, output: 4 },
  'claude-3-haiku': { input: 0.25, output: 1.25 },
};

/** Price overrides from `LLM_PRICES`, keyed `provider:model` (USD per million tokens). */
export type PriceOverrides = Readonly<Record<string, { inputPerMTok: number; outputPerMTok: number }>>;

export interface Pricing {
  /** The price entry for a profile, or null when neither the overrides nor the table list it. */
  priceOf(provider: string, model: string): { input: number; output: number } | null;
  /** Cost in USD of a call, rounded to a millionth of a dollar (the ledger's precision); null when the price is unknown. */
  costOf(provider: string, model: string, inputTokens: number, outputTokens: number): number | null;
}

/** The entry of `table` whose key is `name` or its longest prefix followed by `-` or `.`. */
function longestPrefix<V>(table: Readonly<Record<string, V>>, name: string): V | null {
  const keys = Object.keys(table).sort((a, b) => b.length - a.length);
  const key = keys.find((prefix) => name === prefix || name.startsWith(`${prefix}-`) || name.startsWith(`${prefix}.`));
  return key === undefined ? null : (table[key] ?? null);
}

/** The built-in table with `overrides` merged over it (an override wins over any built-in entry for its model). */
export function createPricing(overrides: PriceOverrides = {}): Pricing {
  const custom: Record<string, { input: number; output: number }> = {};
  for (const [key, p] of Object.entries(overrides)) custom[key] = { input: p.inputPerMTok, output: p.outputPerMTok };
  const resolved = new Map<string, { input: number; output: number } | null>();
  const priceOf = (provider: string, model: string) => {
    const key = `${provider}:${model}`;
    let price = resolved.get(key);
    if (price === undefined) {
      price = longestPrefix(custom, key) ?? longestPrefix(PRICES_PER_MILLION, model);
      resolved.set(key, price);
    }
    return price;
  };
  return {
    priceOf,
    costOf(provider, model, inputTokens, outputTokens) {
      const price = priceOf(provider, model);
      if (price === null) return null;
      return Math.round(inputTokens * price.input + outputTokens * price.output) / 1_000_000;
    },
  };
}

/** The built-in price entry for a model, or null when it is not in the table. */
export function priceOf(model: string): { input: number; output: number } | null {
  return longestPrefix(PRICES_PER_MILLION, model);
}

/** Cost in USD of a call at the built-in prices, or null when the model is not in the table. */
export function costOf(model: string, inputTokens: number, outputTokens: number): number | null {
  const price = priceOf(model);
  return price === null ? null : Math.round(inputTokens * price.input + outputTokens * price.output) / 1_000_000;
}
