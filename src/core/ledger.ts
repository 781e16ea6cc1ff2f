/**
 * A ledger line: one immutable record of cost. Gateway calls and imports share this shape
 * (close to a FOCUS row); corrections are new lines, never edits.
 */
import { type Dims, type Tags, type Dimension, emptyDims } from './dimensions.js';

/** What happened to the call. `unsettled`: Bursar stopped before it knew; charged at worst case. */
export const LINE_STATUSES = ['ok', 'error', 'cancelled', 'partial', 'refused', 'unsettled'] as const;
export type LineStatus = (typeof LINE_STATUSES)[number];

export const LINE_SOURCES = ['gateway', 'import', 'correction'] as const;
export type LineSource = (typeof LINE_SOURCES)[number];

export const TOKEN_KINDS = ['input', 'cached_input', 'cache_write', 'output', 'reasoning'] as const;
export type TokenKind = (typeof TOKEN_KINDS)[number];

/** Token counts by billing kind. `input` excludes cached and cache-write tokens; `output` excludes reasoning. */
export type Tokens = { [K in TokenKind]: number };

export function zeroTokens(): Tokens {
  return { input: 0, cached_input: 0, cache_write: 0, output: 0, reasoning: 0 };
}

/** Every token of every kind: what a line counts on a budget's token limit (the counters and the budget totals rebuilt from lines must agree), and its FOCUS quantity. */
export function tokenTotal(t: Tokens): number {
  return t.input + t.cached_input + t.cache_write + t.output + t.reasoning;
}

export interface LedgerLine {
  /** Request id for gateway lines; a stable, content-derived id for imports (idempotency). */
  readonly id: string;
  readonly source: LineSource;
  /** Start of the call (epoch ms). */
  readonly ts: number;
  readonly dims: Dims;
  readonly tags: Tags | null;
  /** chat, responses, embeddings, messages; or an import's charge kind. */
  readonly endpoint: string | null;
  readonly stream: boolean;
  readonly tokens: Tokens;
  readonly retrievalCalls: number;
  readonly toolCalls: number;
  readonly agentSteps: number;
  readonly cacheHit: boolean;
  /** Cost in nano-units of `currency`. */
  readonly costNano: bigint;
  readonly currency: string;
  readonly priceVersion: string | null;
  readonly status: LineStatus;
  readonly httpStatus: number | null;
  readonly errorCode: string | null;
  readonly latencyMs: number | null;
  readonly ttfbMs: number | null;
  /** true when tokens come from the provider's usage block; false when counted or bounded by Bursar. */
  readonly usageExact: boolean;
  readonly runStatus: string | null;
  readonly acceptedOutput: boolean | null;
  readonly humanReview: boolean;
  /** A block or redaction event, e.g. "budget:marketing-monthly". */
  readonly blockEvent: string | null;
  /** production_inference, development, experimental, embedded_saas. */
  readonly spendCategory: string | null;
  /** What the call counted against each budget in scope, in the budget's currency (counters are rebuilt from these). */
  readonly budgetCharges: BudgetCharges | null;
  /** The cost in the organisation's reporting currency, and the rate used (nano-units of it per unit of `currency`). */
  readonly orgCostNano: bigint;
  readonly orgCurrency: string;
  readonly fxRate: bigint;
  /**
   * What the call would have cost, in the organisation's currency, on the model it asked for
   * (dims.baseline_model) with the same tokens: set on routed calls, so a report shows what
   * routing and its downgrades saved.
   */
  readonly baselineOrgNano: bigint | null;
  /**
   * A response-cache hit (cacheHit): what the kept answer's tokens would have cost on the model
   * that made it, in the organisation's currency. The hit itself costs nothing.
   */
  readonly avoidedOrgNano: bigint | null;
  /**
   * Imported lines (source "import"): the end of the charge period (`ts` is its start), how
   * much of what was consumed (nano-units of `unit`: seats, GPU hours, GB-months), what the
   * source called the charge, and the import that added it.
   */
  readonly periodEnd: number | null;
  readonly quantityNano: bigint | null;
  readonly unit: string | null;
  readonly description: string | null;
  readonly importId: string | null;
}

/**
 * What a line charged budget counters: counter `keys[i]` ("<budget>|<window start>|<member>")
 * by `nanos[i]`, in its budget's currency. Two arrays, not an object per counter: a call's
 * charges live as long as the call and its line, and the keys are the same array as its
 * admission's (docs/architecture.md#call-lifetime-objects).
 */
export interface BudgetCharges {
  readonly keys: readonly string[];
  readonly nanos: readonly bigint[];
}

/**
 * Runs of counter keys as JSON (`"<key>","<key>",...`), in a tree by key: a call is charged on
 * the same few budgets as many calls before it, so its keys are quoted and joined once, and
 * found again with a lookup per key (the tree is bounded).
 */
type KeyRun = { text: string | null; readonly next: Map<string, KeyRun> };
const keyRuns: KeyRun = { text: null, next: new Map() };
let keyRunCount = 0;

function keyRun(keys: readonly string[], from: number, to: number): string {
  if (keyRunCount >= 10_000) {
    keyRuns.next.clear();
    keyRunCount = 0;
  }
  let run = keyRuns;
  for (let i = from; i < to; i++) {
    const key = keys[i]!;
    let next = run.next.get(key);
    if (!next) {
      run.next.set(key, (next = { text: null, next: new Map() }));
      keyRunCount++;
    }
    run = next;
  }
  return (run.text ??= keys.slice(from, to).map((k) => JSON.stringify(k)).join(','));
}

/**
 * A line's budget charges as JSON: a flat array of strings, each amount (a decimal integer of
 * nano-units) followed by the counter keys charged it, `["62250","<key>","<key>",...]`. A key
 * always holds "|", an amount never. A call's charges are one amount in the usual case (its
 * budgets in one currency), and the same keys as the call before it: the text is written twice
 * per call (its intent and its ledger row): 191 bytes for six budgets, where a pair per charge
 * took 243.
 */
export function budgetChargesJson(charges: BudgetCharges): string {
  const { keys, nanos } = charges;
  let text = '[';
  for (let i = 0; i < keys.length; ) {
    const nano = nanos[i]!;
    let j = i + 1;
    while (j < keys.length && nanos[j] === nano) j++;
    text += `${i ? ',' : ''}"${nano}",${keyRun(keys, i, j)}`;
    i = j;
  }
  return `${text}]`;
}

/** Budget charges from their JSON (parsed): the form budgetChargesJson writes, or the `[["<key>","<nano>"], ...]` pairs written before it. */
export function parseBudgetCharges(list: readonly unknown[]): BudgetCharges {
  const keys: string[] = [];
  const nanos: bigint[] = [];
  let nano = 0n;
  for (const x of list) {
    if (Array.isArray(x)) {
      keys.push(String(x[0]));
      nanos.push(BigInt(x[1] as string));
    } else if (typeof x === 'string' && !x.includes('|')) nano = BigInt(x);
    else {
      keys.push(String(x));
      nanos.push(nano);
    }
  }
  return { keys, nanos };
}

/** A line with every field at its empty value; callers spread what they know over it. */
export function blankLine(id: string, ts: number): LedgerLine {
  return {
    id, source: 'gateway', ts, dims: emptyDims(), tags: null, endpoint: null, stream: false,
    tokens: zeroTokens(), retrievalCalls: 0, toolCalls: 0, agentSteps: 0, cacheHit: false,
    costNano: 0n, currency: 'USD', priceVersion: null, status: 'ok', httpStatus: null, errorCode: null,
    latencyMs: null, ttfbMs: null, usageExact: true, runStatus: null, acceptedOutput: null,
    humanReview: false, blockEvent: null, spendCategory: null, budgetCharges: null,
    orgCostNano: 0n, orgCurrency: 'USD', fxRate: 1_000_000_000n, baselineOrgNano: null, avoidedOrgNano: null,
    periodEnd: null, quantityNano: null, unit: null, description: null, importId: null,
  };
}

/** The dimensions an outcome keeps of the call or run it is for, to be reported by. */
export const OUTCOME_DIMENSIONS = ['department', 'cost_centre', 'project', 'workflow', 'agent', 'user', 'application', 'environment', 'route', 'model', 'key'] as const;
export type OutcomeDimension = (typeof OUTCOME_DIMENSIONS)[number];

/**
 * What a call or an agent run produced, as its application reported it: accepted or not, how
 * many value units (a resolution, a document, a qualified lead), and what a unit is worth.
 * One per call or run (a later report replaces it).
 */
export interface Outcome {
  /** `call:<request id>` or `run:<agent run id>`. */
  readonly id: string;
  readonly ts: number;
  readonly accepted: boolean | null;
  readonly unitsNano: bigint;
  readonly unit: string | null;
  /** The value of all the units, if given. */
  readonly valueNano: bigint | null;
  readonly currency: string | null;
  readonly dims: Readonly<Record<OutcomeDimension, string | null>>;
}

export interface OutcomeTotals {
  readonly group: Readonly<Record<string, string | null>>;
  readonly outcomes: number;
  readonly accepted: number;
  readonly unitsNano: bigint;
  /** Value per currency. */
  readonly value: readonly { currency: string; nano: bigint }[];
}

/**
 * An agent run whole, in the group of its first call (a run whose calls differ in model, say, is
 * counted under its first call's), one row per currency its calls were priced in (the run's
 * counts on each): what the loop detector needs.
 */
export interface AgentRunTotals {
  readonly group: Readonly<Record<string, string | null>>;
  readonly run: string;
  readonly currency: string;
  /** Calls a provider served (not refused), and calls refused (a budget, a run limit, the loop guard). */
  readonly calls: number;
  readonly refused: number;
  /** Calls the loop guard refused (error code `agent_loop`). */
  readonly loopRefused: number;
  /** What its calls priced in `currency` cost. */
  readonly costNano: bigint;
  /** When the run's last call started. */
  readonly lastTs: number;
}

/**
 * Agent runs judged whole, then counted in the group of their first call with all they cost, per
 * currency: `blocked`, a refusal stopped it (a budget, a run limit, the loop guard); `abandoned`, no
 * refusal and no outcome reported, some cost, and its last call idle (before `idleBefore`) or
 * cancelled.
 */
export interface RunVerdictTotals {
  readonly group: Readonly<Record<string, string | null>>;
  readonly currency: string;
  readonly verdict: 'blocked' | 'abandoned';
  readonly runs: number;
  readonly costNano: bigint;
}

/** Which lines a rule takes: every field given must match (a list: any of its values). */
export interface LineMatch {
  readonly source?: string;
  /** The line's endpoint (a call's) or charge kind (an import's). */
  readonly kind?: readonly string[];
  readonly spend_category?: readonly string[];
  readonly tags?: Readonly<Record<string, string>>;
  readonly dims?: Partial<Record<Dimension, readonly string[]>>;
}

/**
 * Which lines of a period `firstMatchGroups` groups, and by what: the first of `matches` that
 * takes each line, its department, project and budget category; and, for the lines of the
 * matches named in `apart`, also what allocating one of them reads (its cost; the tokens or the
 * quantity an internal price is charged by), so that the lines of a group allocate alike.
 */
export interface FirstMatchQuery {
  readonly from: number;
  readonly to: number;
  readonly matches: readonly LineMatch[];
  readonly apart?: {
    /** Matches whose lines are grouped by their cost too. */
    readonly cost: readonly number[];
    /** Of those, the ones grouped by their tokens (every kind summed) too. */
    readonly tokens?: readonly number[];
    /** Of those, the ones grouped by their quantity too. */
    readonly quantity?: readonly number[];
    /** At most this many groups: past it the read stops, incomplete (when lines hardly ever allocate alike, their groups would fill memory). */
    readonly limit?: number;
  };
}

/**
 * A period's lines grouped by the first of some matches that takes each (-1: none) and by
 * department, project and budget category (and, for the matches asked apart, by what allocating
 * one line reads): what allocation runs need of every line, for their parts and their drivers.
 */
export interface FirstMatchGroup {
  readonly index: number;
  readonly department: string | null;
  readonly project: string | null;
  readonly budgetCategory: string | null;
  /** Lines, and those with a cost. */
  readonly lines: number;
  readonly costed: number;
  readonly orgCostNano: bigint;
  /** Of the gateway's calls that were not refused: their tokens, number and cost. */
  readonly tokens: bigint;
  readonly requests: number;
  readonly gatewayOrgCostNano: bigint;
  /** Imported GPU hours (nano-units). */
  readonly gpuNano: bigint;
  /** For a match asked apart: the cost of each line of the group (else null); and its tokens, its quantity, if asked for (else null). */
  readonly lineCost: bigint | null;
  readonly lineTokens: bigint | null;
  readonly lineQuantity: bigint | null;
}

/** A period's lines in groups, and the first and last of their ids (null: no lines). */
export interface FirstMatchGroups {
  readonly groups: readonly FirstMatchGroup[];
  /** false: there were more groups than `apart.limit`, and none are given. */
  readonly complete: boolean;
  readonly firstId: string | null;
  readonly lastId: string | null;
}

/** What a usage report can group by: any dimension, plus these. */
/** `hour` (UTC, 'YYYY-MM-DDTHH'), `cache_hit` ('true'/'false') and `error_code` are read from the lines, not the daily rollups. */
export const EXTRA_GROUPS = ['day', 'month', 'hour', 'status', 'endpoint', 'source', 'currency', 'cache_hit', 'error_code'] as const;
export type UsageGroup = Dimension | (typeof EXTRA_GROUPS)[number] | `tag:${string}`;

export interface UsageQuery {
  /** Inclusive start, exclusive end, epoch ms. */
  readonly from: number;
  readonly to: number;
  readonly groupBy: readonly UsageGroup[];
  /** Equality filters; a manager's scope arrives here as { department: [...] }. */
  readonly where?: Partial<Record<Dimension, readonly string[]>>;
  /** Also sum what the savings report needs (UsageRow.routing). */
  readonly routing?: boolean;
}

/** The savings report's sums, in the organisation's currency: calls with a baseline, their cost and baseline, cache hits among them and what those avoided. */
export interface RoutingSums {
  readonly routed: number;
  readonly costNano: bigint;
  readonly baselineNano: bigint;
  readonly cacheHits: number;
  readonly avoidedNano: bigint;
}

export interface UsageRow {
  readonly group: Readonly<Record<string, string | null>>;
  readonly currency: string;
  readonly requests: number;
  readonly tokens: Tokens;
  readonly costNano: bigint;
  /** The same, in the organisation's currency (each line converted at its own rate). */
  readonly orgCostNano: bigint;
  readonly estimatedLines: number;
  /** With UsageQuery.routing only. */
  readonly routing?: RoutingSums;
}

/** An agent's runs over a period: how many, their calls, refusals and cost, and its longest run. */
export interface AgentSummary {
  readonly agent: string;
  readonly runs: number;
  readonly calls: number;
  readonly refused: number;
  /** Refusals by the loop guard. */
  readonly loopRefused: number;
  /** In the organisation's currency. */
  readonly orgCostNano: bigint;
  readonly longestRun: string;
  readonly longestRunCalls: number;
}
