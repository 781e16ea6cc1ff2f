/**
 * The allocation maths, pure: one ledger line and the rules in, its parts out, each part a
 * department (or "unallocated") and an amount in nano-units of the organisation's currency.
 * For every line, the parts sum exactly to the line's cost (largest remainder, ties to the
 * department first in alphabetical order), whatever the rule: the property tests prove it.
 */
import type { Dims } from '../core/dimensions.js';
import { tokenTotal, type LedgerLine } from '../core/ledger.js';
import { divRound, largestRemainder, mulDivRound, NANO, parseDecimal } from '../core/money.js';
import type { AllocationRule } from './rules.js';

export interface Part {
  /** null: unallocated (no rule could place it), kept visible, never dropped. */
  readonly department: string | null;
  readonly nano: bigint;
}

export interface Allocated {
  /** The rule that took the line, or "direct" (its own department, no rule matched) or "unallocated". */
  readonly rule: string;
  readonly method: string;
  readonly mode: 'chargeback' | 'showback';
  readonly parts: readonly Part[];
  /** Why a line is unallocated. */
  readonly reason: string | null;
}

export interface AllocationContext {
  /** Every department, sorted: the default set a cost is split among. */
  readonly departments: readonly string[];
  /** A driver's value per department over the period (tokens, requests, cost, headcount...). */
  readonly driver: (name: string) => ReadonlyMap<string, bigint>;
}

type Test = (l: LedgerLine) => boolean;
const compiled = new WeakMap<AllocationRule, Test[]>();

/** A rule's match as tests, built once per rule: sets for lists, one closure per field named. */
function testsOf(rule: AllocationRule): Test[] {
  let tests = compiled.get(rule);
  if (tests) return tests;
  tests = [];
  for (const [k, v] of Object.entries(rule.match)) {
    if (v === undefined) continue;
    if (k === 'source') tests.push((l) => l.source === v);
    else if (k === 'tags') {
      const want = Object.entries(v as Record<string, string>);
      tests.push((l) => want.every(([tk, tv]) => l.tags?.[tk] === tv));
    } else {
      const set = new Set(v as string[]);
      if (k === 'kind') tests.push((l) => set.has(l.endpoint ?? ''));
      else if (k === 'spend_category') tests.push((l) => set.has(l.spendCategory ?? ''));
      else tests.push((l) => set.has((l.dims as unknown as Record<string, string | null>)[k] ?? '\u0000'));
    }
  }
  compiled.set(rule, tests);
  return tests;
}

/** Whether a rule takes a line. */
export function matches(rule: AllocationRule, l: LedgerLine): boolean {
  for (const t of testsOf(rule)) if (!t(l)) return false;
  return true;
}

/** The ledger columns a run over these rules reads (the dimensions the rules match on, what every method needs, and the project a statement keeps). */
export function columnsFor(rules: readonly AllocationRule[]): string[] {
  const cols = new Set(['source', 'endpoint', 'status', 'department', 'project', 'user', 'budget_category', 'org_cost_nano', 'quantity_nano', 'spend_category',
    'input_tokens', 'cached_input_tokens', 'cache_write_tokens', 'output_tokens', 'reasoning_tokens']);
  for (const r of rules) {
    for (const k of Object.keys(r.match)) {
      if (k === 'tags') cols.add('tags');
      else if (k !== 'source' && k !== 'kind' && k !== 'spend_category') cols.add(k);
    }
  }
  return [...cols];
}

/** Budget categories whose lines are showback unless a rule says otherwise: funded centrally. */
export const SANDBOXES: ReadonlySet<string> = new Set(['sandbox', 'pilot']);
const HUNDRED = 100n * NANO;

/**
 * What allocating a line reads of it, and all it reads: its cost, department and budget
 * category, and the tokens or quantity an internal price charges by. Lines alike in these (and
 * in their rule) get the same parts, so a run allocates each such group of lines once.
 */
export type Allocatable = Pick<LedgerLine, 'orgCostNano' | 'tokens' | 'quantityNano'> & { readonly dims: Pick<Dims, 'department' | 'budget_category'> };

const sortedLists = new WeakMap<readonly string[], readonly string[]>();

/** A list of departments sorted, sorted once per list (a rule's `among`, the context's departments). */
function sorted(list: readonly string[]): readonly string[] {
  let out = sortedLists.get(list);
  if (!out) sortedLists.set(list, (out = [...list].sort()));
  return out;
}

const fixedSplits = new WeakMap<AllocationRule, { departments: string[]; weights: bigint[] }>();

/** A fixed rule's departments, sorted, and their percentages, parsed once per rule. */
function fixedSplit(rule: AllocationRule): { departments: string[]; weights: bigint[] } {
  let out = fixedSplits.get(rule);
  if (!out) {
    const departments = Object.keys(rule.split!).sort();
    fixedSplits.set(rule, (out = { departments, weights: departments.map((d) => parseDecimal(rule.split![d]!)) }));
  }
  return out;
}

/** Splits `total` among `departments` in proportion to `weights` (exactly; ties to the earlier, i.e. alphabetically first). */
function split(total: bigint, departments: readonly string[], weights: readonly bigint[]): Part[] {
  const parts = largestRemainder(total, weights);
  return departments.map((department, i) => ({ department, nano: parts[i]! })).filter((p) => p.nano !== 0n);
}

const unallocated = (rule: string, method: string, mode: Allocated['mode'], total: bigint, reason: string): Allocated =>
  ({ rule, method, mode, parts: [{ department: null, nano: total }], reason });

/** The parts of one line: by the first rule that matches it, else its own department. */
export function allocateLine(l: LedgerLine, rules: readonly AllocationRule[], ctx: AllocationContext): Allocated {
  return allocate(l, rules.find((r) => matches(r, l)) ?? null, ctx);
}

/** The parts of a line by its rule (null: none matched, so its own department's). */
export function allocate(l: Allocatable, rule: AllocationRule | null, ctx: AllocationContext): Allocated {
  const total = l.orgCostNano;
  const own = l.dims.department;
  const mode = rule?.mode ?? (SANDBOXES.has(l.dims.budget_category ?? '') ? 'showback' : 'chargeback');
  if (!rule) {
    return own !== null
      ? { rule: 'direct', method: 'direct', mode, parts: [{ department: own, nano: total }], reason: null }
      : unallocated('unallocated', 'none', mode, total, 'no rule matches the line, and it names no department');
  }
  const among = sorted(rule.among ?? ctx.departments);
  switch (rule.method) {
    case 'direct':
      return own !== null ? { rule: rule.id, method: 'direct', mode, parts: [{ department: own, nano: total }], reason: null } : unallocated(rule.id, 'direct', mode, total, 'the line names no department');
    case 'even':
      return { rule: rule.id, method: 'even', mode, parts: split(total, among, among.map(() => 1n)), reason: null };
    case 'fixed': {
      const f = fixedSplit(rule);
      return { rule: rule.id, method: 'fixed', mode, parts: split(total, f.departments, f.weights), reason: null };
    }
    case 'proportional':
    case 'pool': {
      // A pool: what the lines draw (sandboxes, pilots) is funded by its contributors, in proportion to their contribution driver.
      const driver = rule.driver ?? 'headcount';
      const values = ctx.driver(driver);
      const weights = among.map((d) => values.get(d) ?? 0n);
      if (weights.every((w) => w === 0n)) return unallocated(rule.id, rule.method, mode, total, `driver ${driver} is zero for every department of the rule in the period`);
      return { rule: rule.id, method: rule.method, mode, parts: split(total, among, weights), reason: null };
    }
    case 'beneficiary': {
      if (own === null) return unallocated(rule.id, 'beneficiary', mode, total, 'the line names no department to keep its share');
      const [kept, given] = largestRemainder(total, [HUNDRED - parseDecimal(rule.share!), parseDecimal(rule.share!)]);
      const values = rule.driver ? ctx.driver(rule.driver) : null;
      const weights = among.map((d) => (values ? (values.get(d) ?? 0n) : 1n));
      const shares = weights.every((w) => w === 0n) ? among.map(() => 1n) : weights;
      const parts = new Map<string, bigint>([[own, kept!]]);
      for (const p of split(given!, among, shares)) parts.set(p.department!, (parts.get(p.department!) ?? 0n) + p.nano);
      return { rule: rule.id, method: 'beneficiary', mode, parts: [...parts].sort(([a], [b]) => a.localeCompare(b)).map(([department, nano]) => ({ department, nano })), reason: null };
    }
    case 'internal_price': {
      if (own === null) return unallocated(rule.id, 'internal_price', mode, total, 'the line names no department to charge the internal price to');
      const recovered = internalPrice(rule.price!, l);
      const to = rule.recovers_to!;
      if (to === own) return { rule: rule.id, method: 'internal_price', mode, parts: [{ department: own, nano: total }], reason: null };
      // The department pays the published price; the service carries what it did not recover (or keeps the margin, negative).
      return { rule: rule.id, method: 'internal_price', mode, parts: [{ department: own, nano: recovered }, { department: to, nano: total - recovered }].filter((p) => p.nano !== 0n), reason: null };
    }
  }
}

/** What a line is charged at a published internal price: per call, per million tokens, or per unit of its quantity; plus the markup. */
export function internalPrice(price: NonNullable<AllocationRule['price']>, l: Pick<LedgerLine, 'tokens' | 'quantityNano'>): bigint {
  const amount = parseDecimal(price.amount);
  const base = price.per === 'call' ? amount
    : price.per === 'million_tokens' ? divRound(amount * BigInt(tokenTotal(l.tokens)), 1_000_000n)
    : mulDivRound(amount, l.quantityNano ?? NANO, NANO);
  return mulDivRound(base, HUNDRED + parseDecimal(price.markup_percent), HUNDRED);
}

/**
 * Rounds parts to a currency's minor unit (`step` nano-units) so that they sum exactly to their
 * total rounded the same way: each part down to a whole step, then the steps left over to the
 * largest remainders (ties to the earlier part). Negative parts (an internal price's margin)
 * round the same way.
 */
export function roundParts(parts: readonly bigint[], step: bigint): bigint[] {
  const total = parts.reduce((a, b) => a + b, 0n);
  const target = divRound(total, step) * step;
  const floor = (v: bigint) => (v >= 0n ? (v / step) * step : -(((-v + step - 1n) / step) * step));
  const out = parts.map(floor);
  let left = (target - out.reduce((a, b) => a + b, 0n)) / step;
  const order = parts.map((p, i) => ({ i, r: p - out[i]! })).sort((a, b) => (b.r > a.r ? 1 : b.r < a.r ? -1 : a.i - b.i));
  for (const { i } of order) {
    if (left <= 0n) break;
    out[i] = out[i]! + step;
    left--;
  }
  return out;
}
