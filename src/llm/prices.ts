/**
 * List prices in USD per million tokens (input, output), checked against the providers' public price pages in
 * November 2026. A model is priced by the longest entry its name starts with (so dated snapshots such as
 * `gpt-4o-mini-2024-07-18` match). A model not listed here (a local Ollama or vLLM model) costs 0.
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

const byLength = Object.keys(PRICES_PER_MILLION).sort((a, b) => b.length - a.length);
const resolved = new Map<string, { input: number; output: number } | null>();

/** The price entry for a model, or null when it is not in the table. */
export function priceOf(model: string): { input: number; output: number } | null {
  let price = resolved.get(model);
  if (price === undefined) {
    const name = byLength.find((prefix) => model === prefix || model.startsWith(`${prefix}-`) || model.startsWith(`${prefix}.`));
    price = name === undefined ? null : (PRICES_PER_MILLION[name] ?? null);
    resolved.set(model, price);
  }
  return price;
}

/** Cost in USD of a call, rounded to a millionth of a dollar (the ledger's precision). */
export function costOf(model: string, inputTokens: number, outputTokens: number): number {
  const price = priceOf(model);
  if (price === null) return 0;
  return Math.round(inputTokens * price.input + outputTokens * price.output) / 1_000_000;
}
