import { budgetMonth, isBudgetScope, parseProfile, scopesFor, thresholdsReached } from '../../src/domain/llm';
import { LruCache } from '../../src/llm/cache';
import { costOf, priceOf } from '../../src/llm/prices';
import { parseRetryAfter } from '../../src/llm/providers';

describe('LLM rules', () => {
  it('parses provider:model profiles', () => {
    expect(parseProfile('anthropic:claude-sonnet-4-5')).toEqual({ provider: 'anthropic', model: 'claude-sonnet-4-5' });
    expect(parseProfile('openai:qwen2.5:14b')).toEqual({ provider: 'openai', model: 'qwen2.5:14b' });
    expect(parseProfile('mistral:large')).toBeUndefined();
    expect(parseProfile('openai:')).toBeUndefined();
  });

  it('charges a call to global, its provider and its agent, in lock order', () => {
    expect(scopesFor('sandbox', 'openai')).toEqual(['agent:sandbox', 'global', 'provider:openai']);
    expect(scopesFor(undefined, 'anthropic')).toEqual(['global', 'provider:anthropic']);
    expect(isBudgetScope('agent:guardian')).toBe(true);
    expect(isBudgetScope('agent:nobody')).toBe(false);
    expect(isBudgetScope('provider:ollama')).toBe(false);
  });

  it('reports the warning thresholds reached', () => {
    expect(thresholdsReached(79, 100)).toEqual([]);
    expect(thresholdsReached(80, 100)).toEqual([80]);
    expect(thresholdsReached(96, 100)).toEqual([80, 95]);
    expect(thresholdsReached(10, null)).toEqual([]);
    expect(budgetMonth(new Date('2026-02-28T23:59:59Z'))).toBe('2026-02');
  });

  it('prices dated snapshots by the longest matching entry and local models at 0', () => {
    expect(priceOf('gpt-4o-mini-2024-07-18')).toEqual({ input: 0.15, output: 0.6 });
    expect(priceOf('gpt-4o-2024-11-20')).toEqual({ input: 2.5, output: 10 });
    expect(priceOf('claude-opus-4-5-20251101')).toEqual({ input: 5, output: 25 });
    expect(costOf('gpt-4o', 1_000_000, 1_000_000)).toBe(12.5);
    expect(costOf('llama3.1:8b', 5000, 5000)).toBeNull();
  });

  it('reads retry-after in ms, seconds or as a date', () => {
    const now = Date.parse('2026-11-23T10:00:00Z');
    expect(parseRetryAfter(new Headers({ 'retry-after-ms': '250' }), now)).toBe(250);
    expect(parseRetryAfter(new Headers({ 'retry-after': '1.5' }), now)).toBe(1500);
    expect(parseRetryAfter(new Headers({ 'retry-after': 'Mon, 23 Nov 2026 10:00:30 GMT' }), now)).toBe(30_000);
    expect(parseRetryAfter(new Headers({ 'retry-after': 'soon' }), now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });

  it('evicts the least recently used entry and drops expired ones', () => {
    const lru = new LruCache<{ v: number; expiresAt: number }>(2);
    lru.set('a', { v: 1, expiresAt: Infinity });
    lru.set('b', { v: 2, expiresAt: Infinity });
    lru.get('a');
    lru.set('c', { v: 3, expiresAt: Infinity });
    expect(lru.get('b')).toBeUndefined();
    expect(lru.get('a')?.v).toBe(1);
    lru.set('d', { v: 4, expiresAt: 0 });
    expect(lru.get('d')).toBeUndefined();
  });
});
