/**
 * `bursar envelopes`: quarterly envelopes per department, their parts and reallocations
 * (docs/planning.md).
 */
import type { Command } from 'commander';
import { readSpec, table, type CliContext } from './client.js';

interface Money { amount: string; formatted: string }
interface Envelope {
  id: string;
  name: string;
  department: string;
  quarter: string;
  ended: boolean;
  amount: Money;
  spent: Money;
  count_by: string;
  parts: { part: string; split_percent: number; given: Money; moved: Money; amount: Money; spent: Money; remaining: Money; used_percent: string | null }[];
  reallocations: { id: string; from: string; to: string; amount: string; reason: string; by: string; at: string }[];
}

function envelopeText(e: Envelope): string {
  const head = `${e.name} (${e.id}): ${e.department}, ${e.quarter}${e.ended ? ' (ended)' : ''}, ${e.amount.formatted}, ${e.spent.formatted} spent; spend counted by ${e.count_by}`;
  const parts = table(['part', 'split %', 'given', 'moved', 'amount', 'spent', 'remaining', 'used %'], e.parts.map((p) => [
    p.part, p.split_percent, p.given.formatted, p.moved.formatted, p.amount.formatted, p.spent.formatted, p.remaining.formatted, p.used_percent,
  ]));
  const moves = e.reallocations.length ? `\nreallocations:\n${table(['when', 'from', 'to', 'amount', 'by', 'reason'], e.reallocations.map((m) => [m.at, m.from, m.to, m.amount, m.by, m.reason]))}` : '';
  return `${head}\n${parts}${moves}`;
}

export function registerPlanningCommands(program: Command, ctx: CliContext): void {
  const envelopes = program.command('envelopes').description('quarterly envelopes per department, split across production, scaling and experiments');
  envelopes
    .command('list')
    .description('envelopes you can see, each part against its spend')
    .option('--quarter <label>', 'e.g. 2026-Q2 (FY2026-Q1 with a fiscal year)')
    .option('--department <id>')
    .action(async (o: { quarter?: string; department?: string }) => {
      const q = new URLSearchParams({ ...(o.quarter ? { quarter: o.quarter } : {}), ...(o.department ? { department: o.department } : {}) });
      const r = await ctx.client().call<{ data: Envelope[] }>('GET', `/envelopes?${q}`);
      ctx.print(r.data, () => r.data.map(envelopeText).join('\n\n') || 'no envelopes');
    });
  envelopes.command('show <id>').description('an envelope\'s parts, their spend and reallocations').action(async (id: string) => {
    const e = await ctx.client().call<Envelope>('GET', `/envelopes/${encodeURIComponent(id)}`);
    ctx.print(e, () => envelopeText(e));
  });
  envelopes
    .command('create <file>')
    .description('create an envelope from a YAML or JSON file (the fields of bursar.yaml\'s envelopes:)')
    .action(async (file: string) => {
      const e = await ctx.client().call<{ id: string }>('POST', '/envelopes', readSpec(file));
      ctx.print(e, () => `created envelope ${e.id}`);
    });
  envelopes.command('delete <id>').action(async (id: string) => {
    await ctx.client().call('DELETE', `/envelopes/${encodeURIComponent(id)}`);
    ctx.print({ deleted: id }, () => `deleted envelope ${id}`);
  });
  envelopes
    .command('reallocate <id>')
    .description('move money from one part to another before the quarter ends (audited)')
    .requiredOption('--from <part>', 'production, scaling or experiments')
    .requiredOption('--to <part>', 'production, scaling or experiments')
    .requiredOption('--amount <amount>', 'in the envelope\'s currency, e.g. 5000.00')
    .requiredOption('--reason <text>', 'why; kept in the audit log')
    .action(async (id: string, o: { from: string; to: string; amount: string; reason: string }) => {
      const e = await ctx.client().call<Envelope>('POST', `/envelopes/${encodeURIComponent(id)}/reallocations`, o);
      ctx.print(e, () => `moved ${o.amount} from ${o.from} to ${o.to}\n${envelopeText(e)}`);
    });
}
