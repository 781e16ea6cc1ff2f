/**
 * Journal entries from an allocation run, for the general ledger: one balanced entry per
 * department, debiting its AI expense account (with its cost centre, and a line per project)
 * and crediting the clearing account where the provider invoices were booked, for its
 * chargeback amount rounded to the currency's minor unit. Showback is not booked. A correction
 * run's journal first reverses the run it corrects, entry by entry, then books itself. Every
 * entry balances: its debits equal its credits.
 */
import { z } from 'zod';
import { decimalText, minorDigits, parseDecimal } from '../core/money.js';
import type { RunBody } from './runs.js';

const account = z.string().min(1).max(40);

export const glSchema = z
  .strictObject({
    /** Debited for each department's chargeback, unless `accounts` names its own. */
    expense_account: account.default('6400'),
    /** Credited: where the provider invoices and imported costs were booked. */
    clearing_account: account.default('2400'),
    /** Department -> its own expense account. */
    accounts: z.record(z.string(), account).default({}),
  })
  .prefault({});
export type GlConfig = z.infer<typeof glSchema>;

export const JOURNAL_COLUMNS = ['external_id', 'entry', 'date', 'period', 'account', 'cost_centre', 'project_code', 'debit', 'credit', 'currency', 'memo', 'reverses'] as const;
export type JournalRow = Record<(typeof JOURNAL_COLUMNS)[number], string>;

/** The entries of one run (booking it, or with `reverse` undoing it). */
function entries(run: RunBody, gl: GlConfig, reverse: boolean, numberFrom: number, externalId: string): JournalRow[] {
  const digits = minorDigits(run.currency);
  const date = new Date(Date.parse(run.to) - 1).toISOString().slice(0, 10); // the period's last day
  const byDept = new Map<string, { costCentre: string; lines: Map<string, bigint> }>();
  for (const r of run.statement) {
    if (r.department === null || r.mode !== 'chargeback') continue;
    let d = byDept.get(r.department);
    if (!d) byDept.set(r.department, (d = { costCentre: r.cost_centre ?? '', lines: new Map() }));
    const code = r.project_code ?? '';
    d.lines.set(code, (d.lines.get(code) ?? 0n) + parseDecimal(r.rounded));
  }
  const out: JournalRow[] = [];
  let n = numberFrom;
  for (const [dept, d] of [...byDept].sort(([a], [b]) => a.localeCompare(b))) {
    const total = [...d.lines.values()].reduce((a, b) => a + b, 0n);
    if (total === 0n && [...d.lines.values()].every((v) => v === 0n)) continue;
    const entry = `${externalId}-${String(n++).padStart(3, '0')}`;
    const memo = `${reverse ? 'Reversal of ' : ''}AI cost allocation ${run.period} (${run.id}), ${dept}`;
    // A negative amount (an internal price recovered more than it cost) books on the other side.
    const row = (acct: string, costCentre: string, project: string, amount: bigint, debit: boolean): JournalRow => {
      const d2 = amount < 0n ? !debit : debit;
      const v = decimalText(amount < 0n ? -amount : amount, digits);
      return {
        external_id: externalId, entry, date, period: run.period, account: acct, cost_centre: costCentre, project_code: project,
        debit: d2 ? v : '', credit: d2 ? '' : v, currency: run.currency, memo, reverses: reverse ? run.id : '',
      };
    };
    for (const [project, amount] of [...d.lines].sort(([a], [b]) => a.localeCompare(b))) {
      if (amount !== 0n) out.push(row(gl.accounts[dept] ?? gl.expense_account, d.costCentre, project, amount, !reverse));
    }
    if (total !== 0n) out.push(row(gl.clearing_account, '', '', total, reverse));
  }
  return out;
}

/** A run's journal: for a correction, the corrected run's entries reversed first. */
export function journal(run: RunBody, corrected: RunBody | null, gl: GlConfig): JournalRow[] {
  const out = corrected ? entries(corrected, gl, true, 1, run.id) : [];
  return [...out, ...entries(run, gl, false, out.length ? Number(out.at(-1)!.entry.split('-').at(-1)) + 1 : 1, run.id)];
}
