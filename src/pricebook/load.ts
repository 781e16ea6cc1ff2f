/**
 * Loads the shipped price book (pricebook/*.yaml at the package root) and applies the
 * additions and overrides from bursar.yaml's `prices:`. A config entry for the same model
 * and date replaces the shipped one; a later date supersedes it from that date on.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { parseDecimal } from '../core/money.js';
import { PriceBook, type ModelPrice, type Rates } from '../core/pricing.js';
import { priceFileSchema, type PriceEntry } from '../config/schema.js';
import { describeIssue, ConfigError } from '../config/load.js';

/** The shipped price book's folder: <package root>/pricebook, found from src/, dist/ or the bundle alike. */
export const PRICEBOOK_DIR = findUp(dirname(fileURLToPath(import.meta.url)), 'pricebook');

function findUp(from: string, name: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, name, 'openai.yaml'))) return join(dir, name) + '/';
    if (dirname(dir) === dir) throw new Error(`the shipped price book (${name}/) was not found above ${from}`);
  }
}

function rates(r: PriceEntry['per_million']): Rates {
  const out: Record<string, bigint> = { input: parseDecimal(r.input), output: parseDecimal(r.output ?? '0') };
  for (const k of ['cached_input', 'cache_write', 'cache_write_1h', 'reasoning'] as const) {
    const v = r[k];
    if (v !== undefined) out[k] = parseDecimal(v);
  }
  return out as Rates;
}

export function toModelPrice(provider: string, currency: string, e: PriceEntry, origin: 'book' | 'config'): ModelPrice {
  const tiers: Record<string, Rates> = {};
  for (const [name, t] of Object.entries(e.tiers)) tiers[name] = rates(t.per_million);
  const toolCalls: Record<string, bigint> = {};
  for (const [name, fee] of Object.entries(e.tool_calls)) toolCalls[name] = parseDecimal(fee);
  return {
    provider,
    model: e.model,
    aliases: e.aliases,
    kind: e.kind,
    currency,
    effectiveFrom: Date.parse(`${e.effective_from}T00:00:00Z`),
    rates: rates(e.per_million),
    longContext: e.long_context ? { aboveInputTokens: e.long_context.above_input_tokens, rates: rates(e.long_context.per_million) } : null,
    tiers,
    toolCalls,
    perRequest: e.per_request ? parseDecimal(e.per_request) : 0n,
    version: `${provider}/${e.model}@${e.effective_from}${origin === 'config' ? '+config' : ''}`,
  };
}

/** Every price of the shipped book. */
export function loadShippedPrices(dir = PRICEBOOK_DIR): ModelPrice[] {
  const out: ModelPrice[] = [];
  for (const name of readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort()) {
    const parsed = priceFileSchema.safeParse(parse(readFileSync(dir + name, 'utf8')));
    if (!parsed.success) throw new ConfigError(parsed.error.issues.map(describeIssue), `the shipped price book ${name}`);
    for (const m of parsed.data.models) out.push(toModelPrice(parsed.data.provider, parsed.data.currency, m, 'book'));
  }
  return out;
}

/** The shipped book with bursar.yaml's prices on top. */
export function buildPriceBook(overrides: readonly (PriceEntry & { provider: string; currency: string })[], shipped = loadShippedPrices()): PriceBook {
  const custom = overrides.map((o) => toModelPrice(o.provider, o.currency, o, 'config'));
  const replaced = new Set(custom.map((c) => `${c.provider}/${c.model}@${c.effectiveFrom}`));
  const kept = shipped.filter((s) => !replaced.has(`${s.provider}/${s.model}@${s.effectiveFrom}`));
  return new PriceBook([...kept, ...custom]);
}
