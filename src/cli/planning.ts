/**
 * `bursar envelopes`: quarterly envelopes per department, their parts and reallocations;
 * `bursar reviews`: the monthly review record's decisions (docs/planning.md).
 */
import type { Command } from 'commander';
import { DECISION_KINDS, type Decision } from '../planning/reviews.js';
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

  const reviews = program.command('reviews').description('the monthly review record: decisions, their owners, expected effects and next reviews');
  reviews
    .command('list')
    .option('--month <YYYY-MM>')
    .option('--kind <kind>', DECISION_KINDS.join(', '))
    .option('--owner <user>')
    .option('--status <status>', 'open, done or dropped')
    .option('--due', 'open decisions whose next review is today or past')
    .action(async (o: { month?: string; kind?: string; owner?: string; status?: string; due?: boolean }) => {
      const q = new URLSearchParams(Object.entries({ ...o, due: o.due ? 'true' : undefined }).filter((e): e is [string, string] => typeof e[1] === 'string'));
      const r = await ctx.client().call<{ data: Decision[] }>('GET', `/reviews?${q}`);
      ctx.print(r.data, () => table(['id', 'month', 'kind', 'decision', 'owner', 'expected effect', 'next review', 'status', 'notes'], r.data.map((d) => [
        d.id, d.month, d.kind, d.decision, d.owner, d.expected_effect, d.next_review, d.status, d.notes,
      ])));
    });
  reviews.command('show <id>').action(async (id: string) => {
    const d = await ctx.client().call<Decision>('GET', `/reviews/${encodeURIComponent(id)}`);
    ctx.print(d, () => Object.entries(d).map(([k, v]) => `${k}: ${v ?? '-'}`).join('\n'));
  });
  const fields = (c: Command, required: boolean): Command => {
    const opt = (flag: string, what: string) => (required ? c.requiredOption(flag, what) : c.option(flag, what));
    opt('--month <YYYY-MM>', 'the review it was taken in');
    opt('--kind <kind>', DECISION_KINDS.join(', '));
    opt('--decision <text>', 'what was decided');
    opt('--owner <user>', 'who carries it out');
    opt('--expected-effect <text>', 'what it should change, e.g. "-15% on support spend"');
    opt('--next-review <date>', 'YYYY-MM-DD');
    return c.option('--department <id>', 'the department it concerns').option('--notes <text>').option('--status <status>', 'open, done or dropped');
  };
  const body = (o: Record<string, string | undefined>) => Object.fromEntries(Object.entries({
    month: o.month, kind: o.kind, decision: o.decision, owner: o.owner, expected_effect: o.expectedEffect, next_review: o.nextReview, department: o.department, notes: o.notes, status: o.status,
  }).filter(([, v]) => v !== undefined));
  fields(reviews.command('add').description('record a decision of a monthly review'), true).action(async (o: Record<string, string>) => {
    const d = await ctx.client().call<Decision>('POST', '/reviews', body(o));
    ctx.print(d, () => `recorded ${d.id}: ${d.kind} decision owned by ${d.owner}, next review ${d.next_review}`);
  });
  fields(reviews.command('update <id>').description('change a decision: its status, notes, next review...'), false).action(async (id: string, o: Record<string, string>) => {
    const d = await ctx.client().call<Decision>('PATCH', `/reviews/${encodeURIComponent(id)}`, body(o));
    ctx.print(d, () => `updated ${d.id}: ${d.status}, next review ${d.next_review}`);
  });
}
