/**
 * One call through the gateway: what the steps learned about it, and how it becomes a ledger
 * line (its worst case before the provider is called, its actual cost when it ends).
 */
import { performance } from 'node:perf_hooks';
import type { BudgetCharges, LedgerLine, LineStatus } from '../core/ledger.js';
import type { FxTable } from '../core/fx.js';
import { costTotal, worstCaseCost, type ModelPrice, type Usage } from '../core/pricing.js';
import { emptyDims, type Dims } from '../core/dimensions.js';
import type { KeyEntry } from '../access/access-index.js';
import type { Admission } from '../budgets/guard.js';
import type { Routed } from '../routing/router.js';
import type { Attribution } from './attribution.js';
import type { Target } from './catalog.js';
import type { Translation } from './translate.js';
import type { Endpoint } from './endpoints.js';
import { CallAbort } from './abort.js';
import { uuidv7 } from './ids.js';
import { countPromptTokens, countTokens } from './token-count.js';

/** Output tokens assumed for a worst case when the client set no cap and the model's maximum is unknown. */
export const UNCAPPED_OUTPUT_TOKENS = 16_384;

/** What every line of every call needs to know about money. */
export interface MoneyContext {
  readonly fx: FxTable;
  /** The organisation's reporting currency. */
  readonly orgCurrency: string;
}

export class Call {
  /** Time-ordered (UUIDv7), so ledger inserts append to the id index instead of scattering. */
  readonly id: string;
  /** When the call started (epoch ms), on the gateway's clock. */
  readonly ts: number;
  readonly t0 = performance.now();
  readonly abort = new CallAbort();
  key: KeyEntry | null = null;
  attribution: Attribution | null = null;
  target: Target | null = null;
  requestedModel: string | null = null;
  body: Record<string, unknown> | null = null;
  bodyBytes = 0;
  /** A safe upper bound on the prompt's tokens (its bytes, plus an allowance per image). */
  inputBound = 0;
  stream = false;
  admission: Admission | null = null;
  /** The route and tier that chose the model, when a route did. */
  routing: Routed | null = null;
  /** How the call is rewritten for its provider's dialect, when that is not the caller's. */
  translation: Translation | null = null;
  /** The price of the model the call asked for, when a route served another (to record what routing saved). */
  baselinePrice: ModelPrice | null = null;
  /** The call's key in its route's response cache, when the route keeps one and the call may use it. */
  cacheKey: string | null = null;
  /** The route's output cap, when it lowered the client's. */
  routeCap: number | null = null;
  maxOutput: number | null = null;
  /** Set just before the provider is called: from here on, the provider may bill. */
  sent = false;
  ttfbMs: number | null = null;

  constructor(
    readonly endpoint: Endpoint,
    readonly money: MoneyContext,
    now: number,
  ) {
    this.ts = now;
    this.id = uuidv7(now);
  }

  elapsedMs(): number {
    return Math.round(performance.now() - this.t0);
  }

  markFirstByte(): void {
    if (this.ttfbMs === null) this.ttfbMs = this.elapsedMs();
  }

  /**
   * Lets go of what the call held, once it has ended and its line is written. A call that lived
   * across two of V8's young-generation collections (a slow call, ~30 ms apart under load) was
   * moved to the old generation; dead there, it would still keep everything it points at alive
   * through each young collection until the next full one, which then moves that too. Letting go
   * cut the bytes moved per request by a quarter (docs/benchmarks.md#gateway-ninth).
   */
  release(): void {
    this.body = null;
    this.attribution = null;
    this.target = null;
    this.routing = null;
    this.admission = null;
    this.translation = null;
    this.baselinePrice = null;
  }
}

export interface Settlement {
  readonly status: LineStatus;
  readonly httpStatus: number | null;
  readonly errorCode: string | null;
  readonly usage: Usage | null;
  readonly exact: boolean;
  /** Tool (function) calls the model asked for. */
  readonly functionCalls?: number;
  /** A response-cache hit: `usage` is the kept answer's, which this call did not pay for. */
  readonly cacheHit?: boolean;
}

/** The call's dimensions: its attribution plus the provider and models once resolved (shared by its lines). */
export function callDims(call: Call): Dims {
  const dims = call.attribution ? call.attribution.dims : emptyDims();
  if (call.key && dims.key === null) dims.key = call.key.id;
  if (call.target) {
    dims.provider = call.target.entry.cfg.id;
    dims.model = call.target.model;
  }
  dims.requested_model = call.requestedModel;
  if (call.routing) {
    dims.route = call.routing.route;
    dims.tier = call.routing.tier;
    dims.fallback_model = call.routing.fellBackFrom;
    dims.downgraded_from = call.routing.downgradedFrom;
    dims.exception = call.routing.exception;
    dims.baseline_model = call.routing.baselineModel;
  }
  if (call.admission) {
    dims.budget_owner = call.admission.owner;
    dims.budget_category = call.admission.category;
  }
  return dims;
}

const NO_TOKENS = Object.freeze({ input: 0, cached_input: 0, cache_write: 0, output: 0, reasoning: 0 });

/** The ledger line of a call in a given state. */
export function lineFor(call: Call, s: Settlement, cost: bigint, charges: BudgetCharges | null = null): LedgerLine {
  const price = call.target?.price ?? null;
  const u = s.usage;
  // A cache hit pays nothing: its answer's cost is what it avoided.
  const costNano = s.cacheHit ? 0n : cost;
  const currency = price?.currency ?? call.money.orgCurrency;
  const org = call.money.fx.convert(costNano, currency, call.money.orgCurrency, call.ts);
  const bp = call.baselinePrice;
  const baselineOrgNano = bp && u ? call.money.fx.convert(costTotal(bp, u), bp.currency, call.money.orgCurrency, call.ts).nano : null;
  return {
    id: call.id,
    source: 'gateway',
    ts: call.ts,
    dims: callDims(call),
    tags: call.attribution?.tags ?? null,
    endpoint: call.endpoint.name,
    stream: call.stream,
    tokens: u && !s.cacheHit ? { input: u.input, cached_input: u.cached_input, cache_write: u.cache_write, output: u.output, reasoning: u.reasoning } : NO_TOKENS,
    retrievalCalls: 0,
    toolCalls: (u?.toolCalls ? Object.values(u.toolCalls).reduce((a, b) => a + b, 0) : 0) + (s.functionCalls ?? 0),
    agentSteps: 0,
    cacheHit: s.cacheHit === true,
    costNano,
    currency,
    priceVersion: price?.version ?? null,
    status: s.status,
    httpStatus: s.httpStatus,
    errorCode: s.errorCode,
    latencyMs: call.elapsedMs(),
    ttfbMs: call.ttfbMs,
    usageExact: s.exact,
    runStatus: null,
    acceptedOutput: null,
    humanReview: call.routing?.humanReview ?? false,
    blockEvent: null,
    spendCategory: 'production_inference',
    budgetCharges: charges,
    orgCostNano: org.nano,
    orgCurrency: call.money.orgCurrency,
    fxRate: org.rate,
    baselineOrgNano,
    avoidedOrgNano: s.cacheHit ? call.money.fx.convert(cost, currency, call.money.orgCurrency, call.ts).nano : null,
    periodEnd: null, quantityNano: null, unit: null, description: null, importId: null,
  };
}

/**
 * The line recorded before the provider is called: every request byte counted as an input
 * token (a safe bound: a BPE token is at least one byte), an allowance per image, and the whole
 * output cap spent.
 */
export function worstCaseLine(call: Call): LedgerLine {
  const price = call.target?.price ?? null;
  const a = call.admission;
  const out = a && a.covering.length ? a.assumedOutput : (call.maxOutput ?? UNCAPPED_OUTPUT_TOKENS);
  // Admission worked it out already, for the same prompt bound and output.
  const cost = price ? (a?.worstNano ?? worstCaseCost(price, call.inputBound, out)) : 0n;
  const usage: Usage = { input: call.inputBound, cached_input: 0, cache_write: 0, output: out, reasoning: 0 };
  // The worst case is what the budgets were charged (what the call reserved), should the call never settle.
  const charges = a && a.covering.length ? a.reserved : null;
  return lineFor(call, { status: 'unsettled', httpStatus: null, errorCode: null, usage, exact: false }, cost, charges);
}

/**
 * Usage counted by Bursar when the provider sent none: what was known (Anthropic's input
 * counts from message_start), the prompt counted with the tokenizer, and the text produced.
 */
export function estimateUsage(call: Call, known: Usage | null, producedText: string, billInput: boolean): Usage {
  const output = countTokens(producedText);
  if (known) return { ...known, output, reasoning: 0 };
  const input = billInput && call.body ? countPromptTokens(call.body) : 0;
  return { input, cached_input: 0, cache_write: 0, output, reasoning: 0 };
}
