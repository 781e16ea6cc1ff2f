/**
 * Prices and cost. Rates are integers in nano-units per million tokens, so every published
 * price (down to $0.000000001 per million) is exact, and cost is computed in bigint with one
 * rounding per call; the per-kind parts are split by largest remainder so they sum to the total.
 */
import { divRound, largestRemainder } from './money.js';
import { type Tokens, TOKEN_KINDS, type TokenKind } from './ledger.js';

export const RATE_KINDS = ['input', 'cached_input', 'cache_write', 'cache_write_1h', 'output', 'reasoning'] as const;
export type RateKind = (typeof RATE_KINDS)[number];

/** Nano-units per one million tokens. Missing kinds fall back (cached/cache-write to input, reasoning to output). */
export type Rates = { readonly input: bigint; readonly output: bigint } & Partial<Record<RateKind, bigint>>;

export interface ModelPrice {
  readonly provider: string;
  readonly model: string;
  readonly aliases: readonly string[];
  readonly kind: 'chat' | 'embedding';
  readonly currency: string;
  /** Epoch ms from which these prices apply. */
  readonly effectiveFrom: number;
  readonly rates: Rates;
  readonly longContext: { readonly aboveInputTokens: number; readonly rates: Rates } | null;
  /** Service tiers (batch, priority, flex...) with their own rates. */
  readonly tiers: Readonly<Record<string, Rates>>;
  /** Per-call fees by tool name, in nano-units. */
  readonly toolCalls: Readonly<Record<string, bigint>>;
  readonly perRequest: bigint;
  /** Names this exact price, e.g. "acme/fast-model@2024-07-18"; every ledger line records it. */
  readonly version: string;
}

/** What the provider reported (or Bursar counted). `cacheWrite1h` is the part of cache_write written for an hour. */
export interface Usage extends Tokens {
  readonly cacheWrite1h?: number;
  readonly tier?: string | null;
  readonly toolCalls?: Readonly<Record<string, number>>;
}

export type CostPart = TokenKind | 'request' | 'tools';

export interface Cost {
  readonly total: bigint;
  readonly parts: Readonly<Record<CostPart, bigint>>;
}

const MILLION = 1_000_000n;

function rate(r: Rates, k: RateKind): bigint {
  const v = r[k];
  if (v !== undefined) return v;
  switch (k) {
    case 'cached_input':
    case 'cache_write':
      return r.input;
    case 'cache_write_1h':
      return r.cache_write ?? r.input;
    case 'reasoning':
      return r.output;
    case 'input':
      return r.input;
    case 'output':
      return r.output;
  }
}

/** Prompt tokens in the provider's sense: everything read, cached or not. */
export function promptTokens(t: Tokens): number {
  return t.input + t.cached_input + t.cache_write;
}

/** The rates that apply to a call: long-context and tier adjustments on the base rates. */
export function ratesFor(price: ModelPrice, usage: Usage): (k: RateKind) => bigint {
  const long = price.longContext && promptTokens(usage) > price.longContext.aboveInputTokens ? price.longContext.rates : null;
  const tier = usage.tier ? price.tiers[usage.tier] : undefined;
  return (k) => {
    const base = rate(price.rates, k);
    if (!tier) return long ? rate(long, k) : base;
    const t = rate(tier, k);
    // A tier without its own long-context prices keeps the long-context surcharge in proportion.
    if (!long || base === 0n) return t;
    return divRound(t * rate(long, k), base);
  };
}

/** What each kind of token of a call costs, in nano-units per million tokens (TOKEN_KINDS' order). */
function tokenWeights(price: ModelPrice, usage: Usage): bigint[] {
  const r = ratesFor(price, usage);
  const hour = Math.min(usage.cacheWrite1h ?? 0, usage.cache_write);
  // A kind with no tokens (most calls have no cached, cache-write or reasoning tokens) weighs 0n: no rate to look up, no BigInt to make.
  return TOKEN_KINDS.map((k) => {
    if (k === 'cache_write') {
      return usage.cache_write === 0 ? 0n : BigInt(usage.cache_write - hour) * r('cache_write') + BigInt(hour) * r('cache_write_1h');
    }
    return usage[k] === 0 ? 0n : BigInt(usage[k]) * r(k);
  });
}

function toolsCost(price: ModelPrice, usage: Usage): bigint {
  let tools = 0n;
  if (usage.toolCalls) for (const [name, count] of Object.entries(usage.toolCalls)) tools += (price.toolCalls[name] ?? 0n) * BigInt(count);
  return tools;
}

/** The cost of one call, exact to the nano-unit: costOf's total, without splitting it into parts (the gateway's path). */
export function costTotal(price: ModelPrice, usage: Usage): bigint {
  let numerator = 0n;
  for (const w of tokenWeights(price, usage)) numerator += w;
  return divRound(numerator, MILLION) + price.perRequest + toolsCost(price, usage);
}

/** The cost of one call, exact to the nano-unit, and its parts (which add up to it exactly). */
export function costOf(price: ModelPrice, usage: Usage): Cost {
  const weights = tokenWeights(price, usage);
  const numerator = weights.reduce((a, b) => a + b, 0n);
  const tokenTotal = divRound(numerator, MILLION);
  const split = largestRemainder(tokenTotal, weights);
  const tools = toolsCost(price, usage);
  const parts = {} as Record<CostPart, bigint>;
  TOKEN_KINDS.forEach((k, i) => (parts[k] = split[i]!));
  parts.request = price.perRequest;
  parts.tools = tools;
  return { total: tokenTotal + price.perRequest + tools, parts };
}

/**
 * The rates a worst case charges, per million tokens, at this prompt size (long-context prices
 * included): the dearest an input token can cost (uncached, or written to the cache), and the
 * dearer of output and reasoning, which share the output cap.
 */
function worstRates(price: ModelPrice, inputTokens: number, tier: string | null): { readonly input: bigint; readonly output: bigint } {
  const r = ratesFor(price, { input: inputTokens, cached_input: 0, cache_write: 0, output: 0, reasoning: 0, tier });
  return { input: max(max(r('input'), r('cache_write')), r('cache_write_1h')), output: max(r('reasoning'), r('output')) };
}

/** What one output token costs a worst case, per million tokens, at this prompt size. */
export function worstOutputRate(price: ModelPrice, inputTokens: number): bigint {
  return worstRates(price, inputTokens, null).output;
}

/** Worst-case cost of a call before it runs: every input token uncached, the whole output cap spent. */
export function worstCaseCost(price: ModelPrice, inputTokens: number, maxOutputTokens: number, tier?: string | null): bigint {
  const rates = worstRates(price, inputTokens, tier ?? null);
  const numerator = BigInt(inputTokens) * rates.input + BigInt(maxOutputTokens) * rates.output;
  // Round up: a worst case must never be below the real cost.
  return (numerator + MILLION - 1n) / MILLION + price.perRequest;
}

const max = (a: bigint, b: bigint): bigint => (b > a ? b : a);

const DATE_SUFFIX = /-(\d{4}-\d{2}-\d{2}|\d{8})$/;

/** The first price of a list (latest first) in force at `at`. */
function inForce(list: readonly ModelPrice[] | undefined, at: number): ModelPrice | undefined {
  if (list) for (const p of list) if (p.effectiveFrom <= at) return p;
  return undefined;
}

/**
 * Effective-dated prices per provider and model. Lookup tries the exact id, its aliases, and
 * the id without a dated snapshot suffix ("fast-model-2024-07-18" -> "fast-model").
 */
export class PriceBook {
  /** Prices by provider, then by model id and alias, the latest in force first. */
  private readonly byProvider = new Map<string, Map<string, ModelPrice[]>>();

  constructor(prices: readonly ModelPrice[]) {
    for (const p of prices) {
      let models = this.byProvider.get(p.provider);
      if (!models) this.byProvider.set(p.provider, (models = new Map()));
      for (const name of [p.model, ...p.aliases]) {
        const list = models.get(name) ?? [];
        list.push(p);
        list.sort((a, b) => b.effectiveFrom - a.effectiveFrom);
        models.set(name, list);
      }
    }
  }

  /** The price in force at `at` (epoch ms), or undefined. */
  lookup(provider: string, model: string, at: number): ModelPrice | undefined {
    const models = this.byProvider.get(provider);
    if (!models) return undefined;
    const bare = model.startsWith('models/') ? model.slice(7) : model;
    // The exact id first (every call's case), without building a key or running the pattern.
    return inForce(models.get(bare), at) ?? (DATE_SUFFIX.test(bare) ? inForce(models.get(bare.replace(DATE_SUFFIX, '')), at) : undefined);
  }

  /** Every current price of a provider (for /v1/models and the price list). */
  models(provider: string, at: number): ModelPrice[] {
    const seen = new Map<string, ModelPrice>();
    for (const list of this.byProvider.get(provider)?.values() ?? []) {
      const p = inForce(list, at);
      if (p) seen.set(p.model, p);
    }
    return [...seen.values()].sort((a, b) => a.model.localeCompare(b.model));
  }

  all(): ModelPrice[] {
    const seen = new Set<ModelPrice>();
    for (const models of this.byProvider.values()) for (const list of models.values()) for (const p of list) seen.add(p);
    return [...seen];
  }
}
