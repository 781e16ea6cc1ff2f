import { describe, expect, it } from 'vitest';
import { buildPriceBook, loadShippedPrices } from './load.js';

describe('the shipped price book', () => {
  const prices = loadShippedPrices();

  it('covers OpenAI, Anthropic and Google with current models', () => {
    const providers = new Set(prices.map((p) => p.provider));
    expect([...providers].sort()).toEqual(['anthropic', 'google', 'openai']);
    const now = Date.now();
    const book = buildPriceBook([]);
    for (const [provider, model] of [['openai', 'gpt-4o-mini'], ['openai', 'text-embedding-3-small'], ['anthropic', 'claude-sonnet-4-5'], ['google', 'gemini-2.5-flash']]) {
      expect(book.lookup(provider!, model!, now), `${provider}/${model}`).toBeDefined();
    }
  });

  it('prices every chat model for output, and names each price version once', () => {
    const versions = new Set<string>();
    for (const p of prices) {
      if (p.kind === 'chat') expect(p.rates.output, p.version).toBeGreaterThan(0n);
      expect(p.rates.input, p.version).toBeGreaterThan(0n);
      expect(versions.has(p.version), p.version).toBe(false);
      versions.add(p.version);
    }
  });

  it('lets bursar.yaml add and override prices', () => {
    const book = buildPriceBook([{ provider: 'openai', model: 'gpt-4o-mini', currency: 'USD', effective_from: '2030-01-01', aliases: [], kind: 'chat', per_million: { input: '9.00', output: '9.00' }, tiers: {}, tool_calls: {} }]);
    expect(book.lookup('openai', 'gpt-4o-mini', Date.UTC(2030, 1, 1))?.version).toBe('openai/gpt-4o-mini@2030-01-01+config');
    expect(book.lookup('openai', 'gpt-4o-mini', Date.UTC(2026, 1, 1))?.version).not.toContain('+config');
  });
});
