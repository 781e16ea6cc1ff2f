/**
 * One call through the gateway: what the steps learned about it, and how it becomes a ledger
 * line (its worst case before the provider is called, its actual cost when it ends).
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { blankLine, type LedgerLine, type LineStatus } from '../core/ledger.js';
import { costOf, worstCaseCost, type Usage } from '../core/pricing.js';
import { emptyDims } from '../core/dimensions.js';
import type { KeyEntry } from '../access/access-index.js';
import type { Attribution } from './attribution.js';
import type { Target } from './catalog.js';
import type { Endpoint } from './endpoints.js';
import { countPromptTokens, countTokens } from './token-count.js';

/** Output tokens assumed for a worst case when the client set no cap. */
export const UNCAPPED_OUTPUT_TOKENS = 16_384;

export class Call {
  readonly id = randomUUID();
  readonly ts = Date.now();
  readonly t0 = performance.now();
  readonly abort = new AbortController();
  key: KeyEntry | null = null;
  attribution: Attribution | null = null;
  target: Target | null = null;
  requestedModel: string | null = null;
  body: Record<string, unknown> | null = null;
  bodyBytes = 0;
  stream = false;
  maxOutput: number | null = null;
  /** Set just before the provider is called: from here on, the provider may bill. */
  sent = false;
  ttfbMs: number | null = null;

  constructor(readonly endpoint: Endpoint) {}

  elapsedMs(): number {
    return Math.round(performance.now() - this.t0);
  }

  markFirstByte(): void {
    if (this.ttfbMs === null) this.ttfbMs = this.elapsedMs();
  }
}

export interface Settlement {
  readonly status: LineStatus;
  readonly httpStatus: number | null;
  readonly errorCode: string | null;
  readonly usage: Usage | null;
  readonly exact: boolean;
}

/** The ledger line of a call in a given state. */
export function lineFor(call: Call, s: Settlement, costOverride?: bigint): LedgerLine {
  const price = call.target?.price ?? null;
  const dims = call.attribution ? { ...call.attribution.dims } : emptyDims();
  if (call.key && dims.key === null) dims.key = call.key.id;
  if (call.target) {
    dims.provider = call.target.entry.cfg.id;
    dims.model = call.target.model;
  }
  dims.requested_model = call.requestedModel;
  const u = s.usage;
  return {
    ...blankLine(call.id, call.ts),
    dims,
    tags: call.attribution?.tags ?? null,
    endpoint: call.endpoint.name,
    stream: call.stream,
    tokens: u
      ? { input: u.input, cached_input: u.cached_input, cache_write: u.cache_write, output: u.output, reasoning: u.reasoning }
      : { input: 0, cached_input: 0, cache_write: 0, output: 0, reasoning: 0 },
    toolCalls: u?.toolCalls ? Object.values(u.toolCalls).reduce((a, b) => a + b, 0) : 0,
    costNano: costOverride ?? (price && u ? costOf(price, u).total : 0n),
    currency: price?.currency ?? 'USD',
    priceVersion: price?.version ?? null,
    status: s.status,
    httpStatus: s.httpStatus,
    errorCode: s.errorCode,
    latencyMs: call.elapsedMs(),
    ttfbMs: call.ttfbMs,
    usageExact: s.exact,
    spendCategory: 'production_inference',
  };
}

/**
 * The line recorded before the provider is called: every request byte counted as an input
 * token (a safe bound: a BPE token is at least one byte) and the whole output cap spent.
 */
export function worstCaseLine(call: Call): LedgerLine {
  const price = call.target?.price ?? null;
  const out = call.maxOutput ?? UNCAPPED_OUTPUT_TOKENS;
  const cost = price ? worstCaseCost(price, call.bodyBytes, out) : 0n;
  const usage: Usage = { input: call.bodyBytes, cached_input: 0, cache_write: 0, output: out, reasoning: 0 };
  return lineFor(call, { status: 'unsettled', httpStatus: null, errorCode: null, usage, exact: false }, cost);
}

/**
 * Usage counted by Bursar when the provider sent none: what was known (Anthropic's input
 * counts from message_start), the prompt counted with the tokenizer, and the text produced.
 */
export async function estimateUsage(call: Call, known: Usage | null, producedText: string, billInput: boolean): Promise<Usage> {
  const output = await countTokens(producedText);
  if (known) return { ...known, output, reasoning: 0 };
  const input = billInput && call.body ? await countPromptTokens(call.body) : 0;
  return { input, cached_input: 0, cache_write: 0, output, reasoning: 0 };
}
