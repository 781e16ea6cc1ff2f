/**
 * Scenario planning: what the next months may cost. The baseline is the average month of the
 * last three whole months (gateway calls and imports alike), carried forward with an expected
 * annual price deflation (model prices fall); expansion and breakthrough multiply usage (2x and
 * 3x by default); each has a probability, and the weighted forecast is their expectation.
 * Amounts are exact decimals in each currency the spend is in.
 */
import { z } from 'zod';
import { assertRole, type Actor } from '../access/actor.js';
import { parsed } from '../config/managed.js';
import { decimalText, divRound, NANO, parseDecimal } from '../core/money.js';
import type { LedgerStore } from '../core/ports.js';
import { BursarError } from '../core/errors.js';

const num = (lo: number, hi: number) => z.coerce.number().min(lo).max(hi);
export const scenarioInput = z.strictObject({
  months: num(1, 36).default(12),
  /** Expected fall of prices over a year, in percent. */
  deflation_percent: num(0, 95).default(20),
  p_baseline: num(0, 1).default(0.6),
  p_expansion: num(0, 1).default(0.3),
  p_breakthrough: num(0, 1).default(0.1),
  expansion: num(0, 100).default(2),
  breakthrough: num(0, 100).default(3),
});

/** A number as nano-units (to nine places), for exact arithmetic. */
const nano = (x: number) => parseDecimal(x.toFixed(9));

export async function scenarios(ledger: LedgerStore, query: Record<string, unknown>, actor: Actor, now = new Date()) {
  assertRole(actor, ['admin', 'finance'], 'plan scenarios');
  const o = parsed(scenarioInput.safeParse(query), 'scenario');
  if (Math.abs(o.p_baseline + o.p_expansion + o.p_breakthrough - 1) > 1e-9) {
    throw new BursarError('validation_failed', `The probabilities total ${o.p_baseline + o.p_expansion + o.p_breakthrough}, not 1.`, { param: 'p_baseline' });
  }
  const thisMonth = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1);
  const from = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 3, 1);
  const rows = await ledger.aggregate({ from, to: thisMonth, groupBy: [] });
  const out = [];
  for (const r of rows) {
    const base = r.costNano / 3n; // the average of the last three whole months
    const months = [];
    const totals = { baseline: 0n, expansion: 0n, breakthrough: 0n, weighted: 0n };
    for (let m = 1; m <= o.months; m++) {
      // Prices fall by deflation_percent a year, month by month.
      const factor = nano((1 - o.deflation_percent / 100) ** (m / 12));
      const baseline = divRound(base * factor, NANO);
      const expansion = divRound(baseline * nano(o.expansion), NANO);
      const breakthrough = divRound(baseline * nano(o.breakthrough), NANO);
      const weighted = divRound(baseline * nano(o.p_baseline) + expansion * nano(o.p_expansion) + breakthrough * nano(o.p_breakthrough), NANO);
      const d = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + m - 1, 1));
      months.push({ month: d.toISOString().slice(0, 7), baseline: decimalText(baseline), expansion: decimalText(expansion), breakthrough: decimalText(breakthrough), weighted: decimalText(weighted) });
      totals.baseline += baseline;
      totals.expansion += expansion;
      totals.breakthrough += breakthrough;
      totals.weighted += weighted;
    }
    out.push({
      currency: r.currency, monthly_base: decimalText(base), based_on: `${new Date(from).toISOString().slice(0, 7)} to ${new Date(thisMonth - 1).toISOString().slice(0, 7)}`,
      assumptions: o, months,
      totals: { baseline: decimalText(totals.baseline), expansion: decimalText(totals.expansion), breakthrough: decimalText(totals.breakthrough), weighted: decimalText(totals.weighted) },
    });
  }
  return out;
}
