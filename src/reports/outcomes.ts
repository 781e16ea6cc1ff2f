/**
 * Outcomes and unit economics. An application reports what a call (by its request id) or an
 * agent run (by its run id) produced: accepted or not, value units, and what they are worth,
 * with the same virtual key that made the call (`POST /v1/outcomes`). Reports then set cost
 * beside it by any dimension: cost per call, per accepted output, per value unit, the acceptance
 * rate, and the value-to-cost ratio.
 */
import type { IncomingMessage } from 'node:http';
import { z } from 'zod';
import { assertRole, type Actor } from '../access/actor.js';
import type { KeyEntry } from '../access/access-index.js';
import { BursarError } from '../core/errors.js';
import { OUTCOME_DIMENSIONS, type Outcome, type OutcomeDimension } from '../core/ledger.js';
import { decimalText, NANO, parseDecimal, percentText, ratioText } from '../core/money.js';
import type { LedgerStore } from '../core/ports.js';
import { parsed } from '../config/managed.js';
import { attribute, type AttributionOptions } from '../gateway/attribution.js';
import { reportQuery } from './usage.js';

const decimal = z.string().regex(/^\d+(\.\d{1,9})?$/, 'must be a decimal string such as "1" or "12.50"');

export const outcomeInput = z
  .strictObject({
    request_id: z.string().min(1).max(100).optional(),
    run_id: z.string().min(1).max(200).optional(),
    accepted: z.boolean().optional(),
    /** How many value units the call or run produced (default 1 when accepted, else 0). */
    units: decimal.optional(),
    unit: z.string().min(1).max(64).optional(),
    /** What the units are worth, in all. */
    value: z.strictObject({ amount: decimal, currency: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code') }).optional(),
  })
  .refine((o) => (o.request_id === undefined) !== (o.run_id === undefined), { message: 'name the call (request_id, its x-request-id) or the agent run (run_id), one of the two', path: ['request_id'] });

/** The header an application reports an earlier call's or run's outcome with, on its next call (docs/outcomes.md#by-header). */
export const OUTCOME_HEADER = 'x-bursar-outcome';

/**
 * Reads `accepted; request_id=<id>` (or `rejected; run_id=<id>; units=2; unit=resolution;
 * value=30 USD`) into the body POST /v1/outcomes takes, for the same validation.
 */
export function outcomeFromHeader(text: string): Record<string, unknown> {
  const [verdict = '', ...params] = text.split(';').map((p) => p.trim());
  const fix = `write it as "accepted; request_id=<x-request-id>" (or rejected, run_id=, units=, unit=, value=<amount> <currency>)`;
  if (verdict !== 'accepted' && verdict !== 'rejected') throw new BursarError('validation_failed', `${OUTCOME_HEADER}: starts with "${verdict}", not accepted or rejected; ${fix}.`, { param: OUTCOME_HEADER });
  const body: Record<string, unknown> = { accepted: verdict === 'accepted' };
  for (const p of params) {
    const eq = p.indexOf('=');
    const [name, value] = eq < 0 ? [p, ''] : [p.slice(0, eq).trim(), p.slice(eq + 1).trim()];
    if (name === 'value') {
      const [amount, currency] = value.split(/\s+/);
      body.value = { amount, currency };
    } else if (['request_id', 'run_id', 'units', 'unit'].includes(name) && value !== '') body[name] = value;
    else throw new BursarError('validation_failed', `${OUTCOME_HEADER}: "${p}" is not a parameter it takes; ${fix}.`, { param: OUTCOME_HEADER });
  }
  return body;
}

export class OutcomeService {
  constructor(private readonly d: { readonly ledger: LedgerStore; readonly attribution: AttributionOptions; readonly flush: () => Promise<void>; readonly clock: () => number }) {}

  /** Records what a call or run produced, for the key that made it. */
  async report(key: KeyEntry, req: IncomingMessage, body: unknown): Promise<Outcome> {
    const o = parsed(outcomeInput.safeParse(body), 'outcome');
    let dims: Record<string, string | null>;
    if (o.request_id !== undefined) {
      // The call's own line: it may still be on its way to the ledger.
      let line = await this.d.ledger.get(o.request_id);
      if (!line) {
        await this.d.flush();
        line = await this.d.ledger.get(o.request_id);
      }
      if (!line || line.source !== 'gateway') throw new BursarError('not_found', `No call "${o.request_id}" in the ledger; report the x-request-id of a call made through Bursar.`, { param: 'request_id' });
      if (line.dims.key !== key.id) throw new BursarError('forbidden', `Call "${o.request_id}" was made with another key; report outcomes with the key that made the call.`, { param: 'request_id' });
      dims = line.dims as unknown as Record<string, string | null>;
    } else {
      dims = { ...attribute(key, req.headers, this.d.attribution).dims, key: key.id } as unknown as Record<string, string | null>;
    }
    const accepted = o.accepted ?? null;
    const outcome: Outcome = {
      id: o.request_id !== undefined ? `call:${o.request_id}` : `run:${o.run_id}`,
      ts: this.d.clock(),
      accepted,
      unitsNano: o.units !== undefined ? parseDecimal(o.units) : accepted ? NANO : 0n,
      unit: o.unit ?? null,
      valueNano: o.value ? parseDecimal(o.value.amount) : null,
      currency: o.value?.currency ?? null,
      dims: Object.fromEntries(OUTCOME_DIMENSIONS.map((d) => [d, dims[d] ?? null])) as Outcome['dims'],
    };
    await this.d.ledger.recordOutcomes([outcome]);
    return outcome;
  }
}

export interface UnitEconomicsRow {
  readonly group: Readonly<Record<string, string | null>>;
  readonly currency: string;
  readonly calls: number;
  readonly cost: string;
  readonly outcomes: number;
  readonly accepted: number;
  /** accepted / outcomes, in percent (two decimals); null without outcomes. */
  readonly acceptance_percent: string | null;
  readonly cost_per_call: string | null;
  readonly cost_per_accepted: string | null;
  readonly units: string;
  readonly cost_per_unit: string | null;
  /** The value reported in the cost's currency, and value / cost (two decimals). */
  readonly value: string | null;
  readonly value_to_cost: string | null;
  /** Calls served by a fallback model, in percent of calls. */
  readonly fallback_percent: string | null;
  /** Agent runs a refusal stopped (a budget, a loop guard), and what they had cost by then. */
  readonly blocked_runs: number;
  readonly blocked_run_cost: string;
  /** Agent runs with cost and no outcome, not stopped by a refusal, idle past `idle_minutes` or ended cancelled; and their cost. */
  readonly abandoned_runs: number;
  readonly abandoned_run_cost: string;
  /** Calls the response cache answered, and their percent of calls served. */
  readonly cache_hits: number;
  readonly cache_hit_percent: string | null;
}

/** A run whose last call is older than this, with no outcome, was abandoned (docs/outcomes.md#unit-economics). */
export const DEFAULT_IDLE_MINUTES = 30;

/** Cost beside outcomes, by any of the outcome dimensions, for a period. */
export async function unitEconomics(ledger: LedgerStore, query: Record<string, unknown>, actor: Actor, now = new Date()): Promise<{ from: string; to: string; group_by: string[]; rows: UnitEconomicsRow[] }> {
  assertRole(actor, ['admin', 'finance'], 'read unit economics');
  const { from, to, groupBy: text } = reportQuery(query, now);
  const groupBy = (text ?? 'workflow').split(',').map((s) => s.trim()).filter(Boolean);
  for (const g of groupBy) {
    if (!(OUTCOME_DIMENSIONS as readonly string[]).includes(g)) throw new BursarError('validation_failed', `Cannot report unit economics by "${g}". Use any of: ${OUTCOME_DIMENSIONS.join(', ')}.`, { param: 'group_by' });
  }
  const dims = groupBy as OutcomeDimension[];
  const idleMs = Math.max(1, Number((query as { idle_minutes?: string }).idle_minutes ?? DEFAULT_IDLE_MINUTES) || DEFAULT_IDLE_MINUTES) * 60_000;
  // Three independent reads, side by side (on SQLite each on its own reader thread).
  const [outcomeRows, costRows, verdicts] = await Promise.all([
    ledger.outcomeTotals({ from, to, groupBy: dims }),
    // Per group and currency: cost, calls served (a refused call reached no provider), fallbacks and cache hits.
    ledger.aggregate({ from, to, groupBy: [...dims, 'source', 'fallback_model', 'status', 'cache_hit'] }),
    ledger.runVerdicts({ from, to, groupBy: dims, idleBefore: now.getTime() - idleMs }),
  ]);
  const outcomes = new Map(outcomeRows.map((t) => [JSON.stringify(t.group), t]));
  const merged = new Map<string, { group: Record<string, string | null>; groupKey: string; currency: string; cost: bigint; served: number; fallbacks: number; hits: number }>();
  /** The row of a group (kept to the grouping's dimensions) and currency, made on first sight; `k` keys it. */
  const entry = (g: Readonly<Record<string, string | null>>, currency: string) => {
    const group = Object.fromEntries(dims.map((d) => [d, g[d] ?? null]));
    const groupKey = JSON.stringify(group);
    const k = `${groupKey}|${currency}`;
    let e = merged.get(k);
    if (!e) merged.set(k, (e = { group, groupKey, currency, cost: 0n, served: 0, fallbacks: 0, hits: 0 }));
    return { e, k };
  };
  for (const r of costRows) {
    if (r.group.source !== 'gateway') continue;
    const { e } = entry(r.group, r.currency);
    e.cost += r.costNano;
    if (r.group.status !== 'refused') e.served += r.requests;
    if (r.group.fallback_model) e.fallbacks += r.requests;
    if (r.group.cache_hit === 'true') e.hits += r.requests;
  }
  // Agent runs: those a refusal stopped, and those abandoned. A run is judged whole, and counted
  // in the group of its first call with all it cost.
  const runTotals = new Map<string, { blocked: number; blockedCost: bigint; abandoned: number; abandonedCost: bigint }>();
  for (const v of verdicts) {
    // Its group and currency may have cost nothing in the period (a run that began before it, or
    // one reported in the organisation's currency): it still gets a row.
    const { k } = entry(v.group, v.currency);
    const t = runTotals.get(k) ?? { blocked: 0, blockedCost: 0n, abandoned: 0, abandonedCost: 0n };
    if (v.verdict === 'blocked') [t.blocked, t.blockedCost] = [t.blocked + v.runs, t.blockedCost + v.costNano];
    else [t.abandoned, t.abandonedCost] = [t.abandoned + v.runs, t.abandonedCost + v.costNano];
    runTotals.set(k, t);
  }
  const per = (cost: bigint, n: bigint) => (n === 0n ? null : decimalText(cost / n));
  const rows: UnitEconomicsRow[] = [];
  const seen = new Set<string>();
  for (const m of merged.values()) {
    const k = m.groupKey;
    seen.add(k);
    const o = outcomes.get(k);
    const accepted = o?.accepted ?? 0;
    const units = o?.unitsNano ?? 0n;
    const value = o?.value.find((v) => v.currency === m.currency)?.nano ?? null;
    const rt = runTotals.get(`${k}|${m.currency}`);
    const calls = BigInt(m.served);
    rows.push({
      fallback_percent: percentText(BigInt(m.fallbacks), calls),
      blocked_runs: rt?.blocked ?? 0, blocked_run_cost: decimalText(rt?.blockedCost ?? 0n),
      abandoned_runs: rt?.abandoned ?? 0, abandoned_run_cost: decimalText(rt?.abandonedCost ?? 0n),
      cache_hits: m.hits, cache_hit_percent: percentText(BigInt(m.hits), calls),
      group: m.group, currency: m.currency, calls: m.served, cost: decimalText(m.cost), outcomes: o?.outcomes ?? 0, accepted,
      acceptance_percent: percentText(BigInt(accepted), BigInt(o?.outcomes ?? 0)),
      cost_per_call: per(m.cost, calls), cost_per_accepted: per(m.cost, BigInt(accepted)),
      units: decimalText(units), cost_per_unit: units === 0n ? null : decimalText((m.cost * NANO) / units),
      value: value === null ? null : decimalText(value),
      value_to_cost: value === null ? null : ratioText(value, m.cost),
    });
  }
  // Outcomes of groups that cost nothing in the period (reported late, or free) still show.
  for (const [k, o] of outcomes) {
    if (seen.has(k)) continue;
    rows.push({ fallback_percent: null, blocked_runs: 0, blocked_run_cost: '0', abandoned_runs: 0, abandoned_run_cost: '0', cache_hits: 0, cache_hit_percent: null, group: o.group, currency: o.value[0]?.currency ?? '', calls: 0, cost: '0', outcomes: o.outcomes, accepted: o.accepted, acceptance_percent: percentText(BigInt(o.accepted), BigInt(o.outcomes)), cost_per_call: null, cost_per_accepted: null, units: decimalText(o.unitsNano), cost_per_unit: null, value: o.value[0] ? decimalText(o.value[0].nano) : null, value_to_cost: null });
  }
  rows.sort((a, b) => (parseDecimal(b.cost) > parseDecimal(a.cost) ? 1 : parseDecimal(b.cost) < parseDecimal(a.cost) ? -1 : 0));
  return { from: new Date(from).toISOString(), to: new Date(to).toISOString(), group_by: groupBy, rows };
}
