/**
 * `bursar usage`, `bursar savings`, `bursar ledger`, `bursar audit`, `bursar prices`: reading what Bursar recorded.
 */
import type { Command } from 'commander';
import type { SavingsReport } from '../reports/savings.js';
import type { UsageReport } from '../reports/usage.js';
import { amount, CliError, table, when, type CliContext } from './client.js';

export function registerReportCommands(program: Command, ctx: CliContext): void {
  program
    .command('usage')
    .description('spend and tokens grouped by any dimension (default: this month by department and model)')
    .option('--from <date>', 'start, e.g. 2026-11-01 (default: first of this month, UTC)')
    .option('--to <date>', 'end, exclusive (default: now)')
    .option('--group-by <dims>', 'comma-separated: department,project,user,workflow,model,day,tag:<key>...', 'department,model')
    .option('--where <dim=values...>', 'filter, e.g. department=marketing or model=gpt-4o,gpt-4o-mini', (v: string, prev: string[] = []) => [...prev, v])
    .option('--format <format>', 'table, csv or json', 'table')
    .action(async (o: { from?: string; to?: string; groupBy: string; where?: string[]; format: string }) => {
      const q = new URLSearchParams({ group_by: o.groupBy });
      if (o.from) q.set('from', o.from);
      if (o.to) q.set('to', o.to);
      for (const w of o.where ?? []) {
        const [k, v] = w.split('=', 2);
        if (!k || !v) throw new CliError(`--where ${w}: write dimension=value[,value...]`);
        q.set(k, v);
      }
      if (o.format === 'csv') {
        q.set('format', 'csv');
        process.stdout.write(await ctx.client().call<string>('GET', `/usage?${q}`));
        return;
      }
      const r = await ctx.client().call<UsageReport>('GET', `/usage?${q}`);
      if (o.format === 'json' || ctx.json()) return console.log(JSON.stringify(r, null, 2));
      console.log(`Usage ${r.from} to ${r.to}`);
      console.log(
        table(
          [...r.group_by, 'requests', 'input tok', 'cached tok', 'output tok', 'cost', 'estimated'],
          r.rows.map((row) => [
            ...r.group_by.map((g) => row.group[g]), row.requests, row.input_tokens, row.cached_input_tokens,
            row.output_tokens + row.reasoning_tokens, amount(row.cost, row.currency), row.estimated_lines,
          ]),
        ),
      );
      for (const t of r.totals) console.log(`total: ${amount(t.cost, t.currency)} over ${t.requests} calls (${t.cost} ${t.currency} exactly)`);
    });

  program
    .command('scenarios')
    .description('what the next months may cost: baseline, expansion (2x) and breakthrough (3x), with price deflation and probabilities')
    .option('--months <n>', 'months ahead', '12')
    .option('--deflation <percent>', 'expected fall of prices over a year', '20')
    .option('--p <baseline,expansion,breakthrough>', 'probabilities, totalling 1', '0.6,0.3,0.1')
    .action(async (o: { months: string; deflation: string; p: string }) => {
      const [pb = '', pe = '', pt = ''] = o.p.split(',');
      const q = new URLSearchParams({ months: o.months, deflation_percent: o.deflation, p_baseline: pb, p_expansion: pe, p_breakthrough: pt });
      type Rep = { currency: string; monthly_base: string; based_on: string; months: { month: string; baseline: string; expansion: string; breakthrough: string; weighted: string }[]; totals: { baseline: string; expansion: string; breakthrough: string; weighted: string } };
      const r = await ctx.client().call<{ data: Rep[] }>('GET', `/reports/scenarios?${q}`);
      ctx.print(r.data, () => r.data.map((x) => [
        `${x.currency}: a month of ${x.monthly_base} (the average of ${x.based_on})`,
        table(['month', 'baseline', 'expansion', 'breakthrough', 'weighted'], [...x.months.map((m) => [m.month, m.baseline, m.expansion, m.breakthrough, m.weighted]), ['total', x.totals.baseline, x.totals.expansion, x.totals.breakthrough, x.totals.weighted]]),
      ].join('\n')).join('\n\n') || 'no spend in the last three months to plan from');
    });

  program
    .command('corridors')
    .description('AI spend as a share of a business metric, against each corridor\'s floor and ceiling, for a month')
    .option('--period <month>', 'YYYY-MM (default: this month)')
    .action(async (o: { period?: string }) => {
      type Row = { id: string; spend: string; metric: string | null; currency: string; share_percent: string | null; floor_percent: string; ceiling_percent: string; status: string };
      const r = await ctx.client().call<{ data: Row[] }>('GET', `/reports/corridors${o.period ? `?period=${o.period}` : ''}`);
      ctx.print(r.data, () => table(['corridor', 'spend', 'metric', 'share %', 'corridor %', 'status'], r.data.map((x) => [x.id, `${x.spend} ${x.currency}`, x.metric, x.share_percent, `${x.floor_percent}-${x.ceiling_percent}`, x.status])));
    });

  program
    .command('anomalies')
    .description('unusual days or hours per department (or workflow, user...), of one kind (docs/alerts.md#anomalies)')
    .option('--by <dim>', 'department, project, workflow, user, key, agent, model or application', 'department')
    .option('--metric <kind>', 'spend, output_ratio, failures, premium_share, off_hours, agent_loops or unproductive', 'spend')
    .option('--interval <interval>', 'day or hour', 'day')
    .option('--recent <buckets>', 'report anomalies of the last days (or hours); default 7 days, 24 hours')
    .option('--sensitivity <k>', 'spreads from the baseline (lower finds more); default the kind\'s, or bursar.yaml\'s')
    .action(async (o: { by: string; metric: string; interval: string; recent?: string; sensitivity?: string }) => {
      const q = new URLSearchParams({ by: o.by, metric: o.metric, interval: o.interval, ...(o.recent ? { recent: o.recent } : {}), ...(o.sensitivity ? { sensitivity: o.sensitivity } : {}) });
      type Row = { member: string; currency: string; at: string; day: string; value: number; baseline: number; score: number; note: string | null };
      const r = await ctx.client().call<{ data: Row[] }>('GET', `/reports/anomalies?${q}`);
      const when = (x: Row) => (o.interval === 'hour' ? `${x.at.slice(0, 13)}:00Z` : x.day);
      ctx.print(r.data, () => (r.data.length ? table([o.interval, o.by, o.metric, 'usual', 'spreads away', 'what'], r.data.map((x) => [when(x), x.member, x.value.toFixed(4), x.baseline.toFixed(4), x.score, x.note ?? ''])) : 'no anomalies in the period'));
    });

  program
    .command('concentration')
    .description('the share of spend the top few percent of users (workflows, keys...) create, who they are, and their habits')
    .option('--by <dim>', 'user, workflow, key, agent, project or application', 'user')
    .option('--top <percent>', 'the top share to look at', '5')
    .option('--from <date>').option('--to <date>')
    .action(async (o: { by: string; top: string; from?: string; to?: string }) => {
      const q = new URLSearchParams({ by: o.by, top_percent: o.top, ...(o.from ? { from: o.from } : {}), ...(o.to ? { to: o.to } : {}) });
      type Rep = { by: string; currency: string; members: number; top_count: number; top_percent: number; top_share_percent: string; total: string; top: { name: string; cost: string; share_percent: string; calls: number; avg_input_tokens: number; premium_share_percent: string }[] };
      const r = await ctx.client().call<{ data: Rep[] }>('GET', `/reports/concentration?${q}`);
      ctx.print(r.data, () => r.data.map((x) => [
        `The top ${x.top_percent}% (${x.top_count} of ${x.members}) by ${x.by} made ${x.top_share_percent}% of ${x.total} ${x.currency}:`,
        table([x.by, 'cost', 'share %', 'calls', 'avg prompt tokens', 'premium tier %'], x.top.map((t) => [t.name, t.cost, t.share_percent, t.calls, t.avg_input_tokens, t.premium_share_percent])),
      ].join('\n')).join('\n\n') || 'no gateway spend in the period');
    });

  program
    .command('unused-seats')
    .description('imported seats no one used through the gateway in the period')
    .option('--from <date>').option('--to <date>')
    .action(async (o: { from?: string; to?: string }) => {
      const q = new URLSearchParams({ ...(o.from ? { from: o.from } : {}), ...(o.to ? { to: o.to } : {}) });
      type Row = { description: string | null; department: string | null; user: string | null; seats: string; unused: string; unused_cost: string; currency: string };
      const r = await ctx.client().call<{ data: Row[] }>('GET', `/reports/unused-seats?${q}`);
      ctx.print(r.data, () => table(['subscription', 'department', 'user', 'seats', 'unused', 'unused cost'], r.data.map((x) => [x.description, x.department, x.user, x.seats, x.unused, `${x.unused_cost} ${x.currency}`])));
    });

  program
    .command('unit-economics')
    .description('cost beside what it produced: per call, per accepted output, per value unit, value to cost (docs/outcomes.md)')
    .option('--from <date>', 'start (default: first of this month, UTC)')
    .option('--to <date>', 'end, exclusive (default: now)')
    .option('--group-by <dims>', 'comma-separated: department, cost_centre, project, workflow, agent, user, application, environment, route, model, key', 'workflow')
    .option('--idle-minutes <n>', 'a run idle this long, with no outcome, was abandoned', '30')
    .action(async (o: { from?: string; to?: string; groupBy: string; idleMinutes: string }) => {
      const q = new URLSearchParams({ group_by: o.groupBy, idle_minutes: o.idleMinutes, ...(o.from ? { from: o.from } : {}), ...(o.to ? { to: o.to } : {}) });
      type Row = {
        group: Record<string, string | null>; currency: string; calls: number; cost: string; outcomes: number; accepted: number; acceptance_percent: string | null; cost_per_call: string | null; cost_per_accepted: string | null; units: string; cost_per_unit: string | null; value: string | null; value_to_cost: string | null;
        fallback_percent: string | null; blocked_runs: number; blocked_run_cost: string; abandoned_runs: number; abandoned_run_cost: string; cache_hit_percent: string | null;
      };
      const r = await ctx.client().call<{ group_by: string[]; rows: Row[] }>('GET', `/reports/unit-economics?${q}`);
      ctx.print(r, () => table([...r.group_by, 'calls', 'cost', 'accepted', '%', 'per call', 'per accepted', 'units', 'per unit', 'value', 'value/cost', 'fallback %', 'cache hit %', 'blocked runs', 'abandoned runs'], r.rows.map((x) => [
        ...r.group_by.map((g) => x.group[g]), x.calls, `${x.cost} ${x.currency}`, `${x.accepted}/${x.outcomes}`, x.acceptance_percent, x.cost_per_call, x.cost_per_accepted, x.units, x.cost_per_unit, x.value, x.value_to_cost,
        x.fallback_percent, x.cache_hit_percent, x.blocked_runs ? `${x.blocked_runs} (${x.blocked_run_cost})` : 0, x.abandoned_runs ? `${x.abandoned_runs} (${x.abandoned_run_cost})` : 0,
      ])));
    });

  program
    .command('agents')
    .description('per agent: runs, calls, refusals, cost per run and the longest run')
    .option('--from <date>', 'start (default: first of this month, UTC)')
    .option('--to <date>', 'end, exclusive (default: now)')
    .action(async (o: { from?: string; to?: string }) => {
      const q = new URLSearchParams({ ...(o.from ? { from: o.from } : {}), ...(o.to ? { to: o.to } : {}) });
      type Agent = { agent: string; runs: number; calls: number; refused: number; loop_refused: number; cost: string; cost_per_run: string | null; longest_run: string; longest_run_calls: number };
      const r = await ctx.client().call<{ currency: string; data: Agent[] }>('GET', `/reports/agents?${q}`);
      const money = (v: string | null) => amount(v, r.currency);
      ctx.print(r, () => table(['agent', 'runs', 'calls', 'refused', 'by loop guard', 'cost', 'per run', 'longest run'], r.data.map((a) => [
        a.agent, a.runs, a.calls, a.refused, a.loop_refused, money(a.cost), money(a.cost_per_run), `${a.longest_run} (${a.longest_run_calls} calls)`,
      ])));
    });

  program
    .command('overview')
    .description("the dashboard's overview: this month's spend and projection, spend against budget by department, and budgets past a threshold")
    .action(async () => {
      type Budget = { name: string; department: string | null; currency: string; used: string; limit: string | null; used_percent: number | null; projected_end_of_window: string | null; thresholds_reached: number[] };
      type Overview = { month: { from: string; end: string }; currency: string; totals: { month_to_date: string; projected_month_end: string; last_month: string }; by_department: { department: string | null; cost: string; requests: number }[]; budgets: Budget[] };
      const r = await ctx.client().call<Overview>('GET', '/reports/overview');
      const deptBudget = new Map(r.budgets.filter((b) => b.department).map((b) => [b.department, b]));
      ctx.print(r, () => [
        `This month (${r.month.from.slice(0, 7)}): ${amount(r.totals.month_to_date, r.currency)} so far, ${amount(r.totals.projected_month_end, r.currency)} projected by month end; last month ${amount(r.totals.last_month, r.currency)}`,
        table(['department', 'spend', 'calls', 'budget used', 'budget', 'used %', 'projected'], r.by_department.map((d) => {
          const b = deptBudget.get(d.department);
          return [d.department ?? '(none)', amount(d.cost, r.currency), d.requests, b ? amount(b.used, b.currency) : '', b ? amount(b.limit, b.currency) : '', b?.used_percent ?? '', b ? amount(b.projected_end_of_window, b.currency) : ''];
        })),
        `Budgets past a threshold: ${r.budgets.filter((b) => b.thresholds_reached.length).map((b) => `${b.name} (${b.used_percent}%)`).join(', ') || 'none'}`,
      ].join('\n'));
    });

  program
    .command('savings')
    .description('what routing saved: routed calls priced on the models they asked for, against what they cost (docs/routing.md#savings)')
    .option('--from <date>', 'start (default: first of this month, UTC)')
    .option('--to <date>', 'end, exclusive (default: now)')
    .option('--group-by <dims>', 'comma-separated dimensions', 'route,tier,downgraded_from,baseline_model,model')
    .action(async (o: { from?: string; to?: string; groupBy: string }) => {
      const q = new URLSearchParams({ group_by: o.groupBy, ...(o.from ? { from: o.from } : {}), ...(o.to ? { to: o.to } : {}) });
      const r = await ctx.client().call<SavingsReport>('GET', `/reports/savings?${q}`);
      const money = (v: string) => amount(v, r.currency);
      ctx.print(r, () => [
        `Savings ${r.from} to ${r.to} (${r.currency})`,
        table([...r.group_by, 'requests', 'cost', 'on model asked for', 'saved', 'cache hits', 'of it by cache'], r.rows.map((x) => [
          ...r.group_by.map((g) => x.group[g]), x.requests, money(x.cost), money(x.baseline), money(x.saved), x.cache_hits, money(x.cache_avoided),
        ])),
        `total: ${money(r.total.saved)} saved on ${r.total.requests} routed calls (${r.total.saved} ${r.currency} exactly), ${money(r.total.cache_avoided)} of it by ${r.total.cache_hits} cache hits`,
      ].join('\n'));
    });

  program
    .command('ledger <request-id>')
    .description('one ledger line, by request id (the x-request-id header of a call)')
    .action(async (id: string) => {
      const l = await ctx.client().call('GET', `/ledger/${encodeURIComponent(id)}`);
      console.log(JSON.stringify(l, null, 2));
    });

  const audit = program.command('audit').description('the append-only, hash-chained audit log');
  audit
    .command('list')
    .option('--after <seq>', 'entries after this sequence number', '0')
    .option('--limit <n>', 'how many', '50')
    .option('--target <target>', 'only entries about this, e.g. key:key_ab12')
    .action(async (o: { after: string; limit: string; target?: string }) => {
      const q = new URLSearchParams({ after: o.after, limit: o.limit, ...(o.target ? { target: o.target } : {}) });
      const r = await ctx.client().call<{ data: { seq: number; ts: number; actor: string; action: string; target: string; details: unknown }[] }>('GET', `/audit?${q}`);
      ctx.print(r.data, () => table(['seq', 'time', 'actor', 'action', 'target', 'details'], r.data.map((e) => [e.seq, when(e.ts), e.actor, e.action, e.target, JSON.stringify(e.details).slice(0, 80)])));
    });
  audit
    .command('verify')
    .description('check every entry against its hash and the one before it')
    .action(async () => {
      const r = await ctx.client().call<{ ok: boolean; entries: number; head?: string; brokenAt?: number; reason?: string }>('GET', '/audit/verify');
      ctx.print(r, () => (r.ok ? `audit log intact: ${r.entries} entries, head ${r.head}` : `AUDIT LOG BROKEN at entry ${r.brokenAt}: ${r.reason}`));
      if (!r.ok) process.exitCode = 3;
    });

  program
    .command('prices')
    .description('the price book in force (shipped prices plus bursar.yaml overrides)')
    .option('--provider <id>')
    .action(async (o: { provider?: string }) => {
      const r = await ctx.client().call<{ data: { provider: string; model: string; version: string; currency: string; per_million: Record<string, string> }[] }>('GET', '/prices');
      const rows = r.data.filter((p) => !o.provider || p.provider === o.provider).sort((a, b) => a.provider.localeCompare(b.provider) || a.model.localeCompare(b.model));
      ctx.print(rows, () => table(['provider', 'model', 'input /M', 'cached /M', 'output /M', 'currency', 'version'], rows.map((p) => [p.provider, p.model, p.per_million.input, p.per_million.cached_input, p.per_million.output, p.currency, p.version])));
    });
}
