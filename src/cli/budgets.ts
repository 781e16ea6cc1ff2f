/**
 * `bursar budgets`, `bursar overrides`, `bursar reserves`, `bursar events`: budgets and their
 * status, temporary raises and releases of the contingency reserve and their approval, and
 * what happened to budgets (thresholds crossed...).
 */
import type { Command } from 'commander';
import { decisionCommands, readSpec, table, type CliContext } from './client.js';

interface BudgetRow {
  id: string;
  name: string;
  category: string;
  enforcement: string;
  owner: string | null;
  currency: string;
  per: string | null;
  spec: { window: unknown; limit: { amount?: string; tokens?: number; requests?: number; share_of?: { metric: string; percent: string } }; scope: Record<string, unknown> };
}

interface Money { amount: string; formatted: string }
interface Status {
  id: string;
  name: string;
  window: { label: string; end: string; expired: boolean };
  enforcement: string;
  category: string;
  owner: string | null;
  members: { member: string | null; used: Money | null; reserved: Money | null; limit: Money | null; remaining: Money | null; used_percent: number | null; thresholds_reached: number[]; projected_end_of_window: Money | null; tokens: { used: number; limit: number | null }; requests: { used: number; limit: number | null } }[];
  overrides: OverrideRow[];
  reserve: { share: string; amount: Money; members: { member: string | null; released: Money; held: Money }[] } | null;
  reserve_releases: OverrideRow[];
}

interface OverrideRow { id: string; budget: string; amount: string; currency: string; state: string; requested_by: string; reason: string; expires_at: string }

export function registerBudgetCommands(program: Command, ctx: CliContext): void {
  const budgets = program.command('budgets').description('budgets: caps on spend, tokens or requests over a window');
  budgets.command('list').description('budgets you can see').action(async () => {
    const r = await ctx.client().call<{ data: BudgetRow[] }>('GET', '/budgets');
    ctx.print(r.data, () =>
      table(['id', 'name', 'scope', 'window', 'limit', 'enforcement', 'category', 'owner'], r.data.map((b) => [
        b.id, b.name, JSON.stringify(b.spec.scope), typeof b.spec.window === 'string' ? b.spec.window : JSON.stringify(b.spec.window),
        b.spec.limit.amount ? `${b.spec.limit.amount} ${b.currency}` : b.spec.limit.share_of ? `${b.spec.limit.share_of.percent}% of ${b.spec.limit.share_of.metric}`
          : b.spec.limit.tokens ? `${b.spec.limit.tokens} tokens` : `${b.spec.limit.requests} requests`,
        b.enforcement, b.category, b.owner,
      ])),
    );
  });
  budgets
    .command('show <id>')
    .description('a budget\'s status: used, reserved, remaining, thresholds, overrides, projection')
    .action(async (id: string) => {
      const s = await ctx.client().call<Status>('GET', `/budgets/${encodeURIComponent(id)}`);
      ctx.print(s, () => {
        const head = `${s.name} (${s.id}): ${s.enforcement} ${s.category} budget, window ${s.window.label}${s.window.expired ? ' (ended)' : `, resets ${s.window.end}`}${s.owner ? `, owner ${s.owner}` : ''}`;
        const rows = table(['member', 'used', 'reserved', 'limit', 'remaining', '%', 'thresholds', 'projected', 'tokens', 'requests'], s.members.map((m) => [
          m.member ?? '(all)', m.used?.formatted, m.reserved?.formatted, m.limit?.formatted, m.remaining?.formatted, m.used_percent,
          m.thresholds_reached.join(', ') || '-', m.projected_end_of_window?.formatted, `${m.tokens.used}${m.tokens.limit ? `/${m.tokens.limit}` : ''}`, `${m.requests.used}${m.requests.limit ? `/${m.requests.limit}` : ''}`,
        ]));
        const rs = s.reserve ? `\nreserve ${s.reserve.share} (${s.reserve.amount.formatted}): ${s.reserve.members.map((m) => `${m.member ? `${m.member}: ` : ''}${m.released.formatted} released, ${m.held.formatted} held`).join('; ')}` : '';
        const rel = s.reserve_releases.length ? `\nreserve releases:\n${raiseTable(s.reserve_releases)}` : '';
        const ov = s.overrides.length ? `\noverrides:\n${table(['id', 'amount', 'state', 'requested by', 'reason', 'expires'], s.overrides.map((o) => [o.id, `${o.amount} ${o.currency}`, o.state, o.requested_by, o.reason, o.expires_at]))}` : '';
        return `${head}\n${rows}${rs}${ov}${rel}`;
      });
    });
  budgets
    .command('create <file>')
    .description('create a budget from a YAML or JSON file (the same fields as bursar.yaml\'s budgets:)')
    .action(async (file: string) => {
      const b = await ctx.client().call<BudgetRow>('POST', '/budgets', readSpec(file));
      ctx.print(b, () => `created budget ${b.id}`);
    });
  budgets
    .command('set <id> <file>')
    .description('replace a budget\'s definition (budgets made through the API; bursar.yaml\'s are changed there)')
    .action(async (id: string, file: string) => {
      const b = await ctx.client().call<BudgetRow>('PUT', `/budgets/${encodeURIComponent(id)}`, readSpec(file));
      ctx.print(b, () => `updated budget ${b.id}`);
    });
  budgets.command('delete <id>').action(async (id: string) => {
    await ctx.client().call('DELETE', `/budgets/${encodeURIComponent(id)}`);
    ctx.print({ deleted: id }, () => `deleted budget ${id}`);
  });
  budgets
    .command('graduate <sandbox>')
    .description('move a workflow that proved itself from its sandbox or pilot budget to a production budget')
    .requiredOption('--to <production>', 'the production budget')
    .action(async (sandbox: string, o: { to: string }) => {
      const r = await ctx.client().call<{ graduated: string; to: string }>('POST', `/budgets/${encodeURIComponent(sandbox)}/graduate`, { to: o.to });
      ctx.print(r, () => `${r.graduated} graduated to ${r.to}`);
    });

  const overrides = program.command('overrides').description('temporary raises of a budget, requested and approved');
  overrides
    .command('request <budget>')
    .requiredOption('--amount <amount>', 'how much more, in the budget\'s currency, e.g. 100.00')
    .requiredOption('--reason <text>', 'why; the approver reads it')
    .option('--member <member>', 'for a per-member budget: whose limit to raise')
    .option('--expires <datetime>', 'ISO date-time (default: the end of the budget\'s window)')
    .action(async (budget: string, o: { amount: string; reason: string; member?: string; expires?: string }) => {
      const body = { amount: o.amount, reason: o.reason, ...(o.member ? { member: o.member } : {}), ...(o.expires ? { expires_at: o.expires } : {}) };
      const r = await ctx.client().call<{ id: string; state: string }>('POST', `/budgets/${encodeURIComponent(budget)}/overrides`, body);
      ctx.print(r, () => `override ${r.id} ${r.state}; the budget's owner, finance or an admin approves it with: bursar overrides approve ${r.id}`);
    });
  overrides
    .command('list')
    .option('--budget <id>')
    .action(async (o: { budget?: string }) => {
      const r = await ctx.client().call<{ data: OverrideRow[] }>('GET', `/overrides${o.budget ? `?budget=${encodeURIComponent(o.budget)}` : ''}`);
      ctx.print(r.data, () => raiseTable(r.data));
    });
  decisionCommands(overrides, ctx, 'override', 'overrides');

  const reserves = program.command('reserves').description('releases of a budget\'s contingency reserve (reserve: "25%"), requested and approved');
  reserves
    .command('release <budget>')
    .description('ask to free the reserve still held (or --amount of it) for this window')
    .requiredOption('--reason <text>', 'why; the approver reads it')
    .option('--amount <amount>', 'how much of the reserve, in the budget\'s currency (default: all that is held)')
    .option('--member <member>', 'for a per-member budget: whose reserve')
    .option('--expires <datetime>', 'ISO date-time (default: the end of the budget\'s window)')
    .action(async (budget: string, o: { amount?: string; reason: string; member?: string; expires?: string }) => {
      const body = { reason: o.reason, ...(o.amount ? { amount: o.amount } : {}), ...(o.member ? { member: o.member } : {}), ...(o.expires ? { expires_at: o.expires } : {}) };
      const r = await ctx.client().call<{ id: string; state: string; amount: string; currency: string }>('POST', `/budgets/${encodeURIComponent(budget)}/reserve-releases`, body);
      ctx.print(r, () => `reserve release ${r.id} of ${r.amount} ${r.currency} ${r.state}; the budget's owner, finance or an admin approves it with: bursar reserves approve ${r.id}`);
    });
  reserves
    .command('list')
    .option('--budget <id>')
    .action(async (o: { budget?: string }) => {
      const r = await ctx.client().call<{ data: OverrideRow[] }>('GET', `/reserve-releases${o.budget ? `?budget=${encodeURIComponent(o.budget)}` : ''}`);
      ctx.print(r.data, () => raiseTable(r.data));
    });
  decisionCommands(reserves, ctx, 'reserve release', 'reserve-releases');

  const alerts = program.command('alerts').description('notifications of budget events: their deliveries, and the dead ones sent again');
  alerts
    .command('deliveries', { isDefault: true })
    .option('--status <status>', 'pending, sent or dead')
    .action(async (o: { status?: string }) => {
      type Row = { id: string; event: { id: string; kind: string; budget: string; ts: number }; channel: string; to: string | null; audience: string; status: string; attempts: number; last_error: string | null };
      const r = await ctx.client().call<{ data: Row[] }>('GET', `/alerts/deliveries${o.status ? `?status=${encodeURIComponent(o.status)}` : ''}`);
      ctx.print(r.data, () => table(['id', 'when', 'event', 'budget', 'channel', 'to', 'status', 'tries', 'error'], r.data.map((x) => [
        x.id, new Date(x.event.ts).toISOString(), x.event.kind, x.event.budget, x.channel, x.to ?? x.audience, x.status, x.attempts, x.last_error ?? '',
      ])));
    });
  alerts.command('digest').description('the weekly digest: a preview for an owner, or --send it to every owner now')
    .option('--user <id>', 'whose digest to show (default: the first owner)')
    .option('--send', 'send every owner\'s digest now, on the owners\' channels')
    .action(async (o: { user?: string; send?: boolean }) => {
      if (o.send) {
        const r = await ctx.client().call<{ queued: number }>('POST', '/alerts/digest', {});
        return ctx.print(r, () => `${r.queued} digest deliveries queued`);
      }
      const r = await ctx.client().call<{ user: string; text: string }>('GET', `/alerts/digest${o.user ? `?user=${encodeURIComponent(o.user)}` : ''}`);
      ctx.print(r, () => r.text);
    });
  alerts.command('retry <id>').description('send a dead delivery again').action(async (id: string) => {
    const r = await ctx.client().call<{ id: string; status: string }>('POST', `/alerts/deliveries/${encodeURIComponent(id)}/retry`);
    ctx.print(r, () => `${r.id} is ${r.status} again`);
  });

  program
    .command('events')
    .description('budget events: thresholds crossed, overrides requested')
    .option('--budget <id>')
    .option('--since <date>')
    .action(async (o: { budget?: string; since?: string }) => {
      const q = new URLSearchParams({ ...(o.budget ? { budget: o.budget } : {}), ...(o.since ? { since: o.since } : {}) });
      const r = await ctx.client().call<{ data: { ts: string; kind: string; budget: string; details: Record<string, unknown> }[] }>('GET', `/events?${q}`);
      ctx.print(r.data, () => table(['time', 'kind', 'budget', 'details'], r.data.map((e) => [e.ts, e.kind, e.budget, JSON.stringify(e.details).slice(0, 100)])));
    });
}

/** Overrides and reserve releases, one row each. */
function raiseTable(rows: readonly OverrideRow[]): string {
  return table(['id', 'budget', 'amount', 'state', 'requested by', 'reason', 'expires'], rows.map((x) => [x.id, x.budget, `${x.amount} ${x.currency}`, x.state, x.requested_by, x.reason, x.expires_at]));
}
