import { useState } from 'react';
import { Cell, Pie, PieChart, ResponsiveContainer, Tooltip, Legend } from 'recharts';
import { inOrgCurrency, qs, useApi, type Actor, type Usage } from '../api';
import { decimalText, parseDecimal } from '../../../src/core/money';
import { count, money, percent, plot } from '../format';
import { COLOURS, Figure, Panel, Show, Table } from '../ui';
import { PeriodPicker, periodStart } from './Explore';

interface SavingsRow { group: Record<string, string | null>; requests: number; cost: string; baseline: string; saved: string; cache_hits: number }
interface Savings { currency: string; rows: SavingsRow[]; total: Omit<SavingsRow, 'group'> }

/** Cost per thousand tokens, exactly: cost / tokens * 1000 (to the nano-unit), rounded for display. */
function per1k(cost: string, tokens: number): string | null {
  return tokens ? decimalText((parseDecimal(cost) * 1000n) / BigInt(tokens)) : null;
}

/** Which models and tiers the money goes to, the premium share, and what routing saved. */
export function Models(_: { actor: Actor }) {
  const [period, setPeriod] = useState('month');
  const from = periodStart(period);
  const usage = useApi<Usage>(`/usage${qs({ from, group_by: 'tier,model,source' })}`);
  const savings = useApi<Savings>(`/reports/savings${qs({ from })}`);
  return (
    <>
      <h1>Models</h1>
      <nav className="crumbs"><span className="spacer" /><PeriodPicker value={period} onChange={setPeriod} /></nav>
      <Show loaded={usage}>
        {(report) => {
          // Models are the gateway's: imported costs (seats, invoices) name none. Amounts in the organisation's currency.
          const cur = report.org_currency ?? 'USD';
          const rows = inOrgCurrency(report.rows.filter((r) => r.group.source === 'gateway'), (r) => `${r.group.tier}|${r.group.model}`);
          const total = rows.reduce((s, r) => s + plot(r.org_cost), 0);
          const premium = rows.filter((r) => r.group.tier === 'premium').reduce((s, r) => s + plot(r.org_cost), 0);
          const byTier = new Map<string, number>();
          for (const r of rows) byTier.set(r.group.tier || '(no route)', (byTier.get(r.group.tier || '(no route)') ?? 0) + plot(r.org_cost));
          return (
            <>
              <div className="figures">
                <Figure label="Premium-tier share of spend" value={percent(total ? (premium / total) * 100 : null)} />
                <Figure label="Models used" value={String(new Set(rows.map((r) => r.group.model)).size)} />
              </div>
              <Panel title="Spend by tier">
                <ResponsiveContainer width="100%" height={240}>
                  <PieChart>
                    <Pie data={[...byTier].map(([name, value]) => ({ name, value }))} dataKey="value" nameKey="name" outerRadius={90} label>
                      {[...byTier].map((_, i) => <Cell key={i} fill={COLOURS[i % COLOURS.length]!} />)}
                    </Pie>
                    <Tooltip /><Legend />
                  </PieChart>
                </ResponsiveContainer>
              </Panel>
              <Panel title="Models">
                <Table label="Models" rows={rows} columns={[
                  { title: 'Model', cell: (r) => r.group.model ?? '—' },
                  { title: 'Tier', cell: (r) => r.group.tier || '—' },
                  { title: 'Calls', numeric: true, cell: (r) => count(r.requests) },
                  { title: 'Tokens', numeric: true, cell: (r) => count(r.input_tokens + r.output_tokens) },
                  { title: 'Per 1k tokens', numeric: true, cell: (r) => money(per1k(r.org_cost, r.input_tokens + r.output_tokens), cur) },
                  { title: 'Spend', numeric: true, cell: (r) => money(r.org_cost, cur) },
                ]} />
              </Panel>
            </>
          );
        }}
      </Show>
      <Panel title="What downgrades, fallbacks and routes saved">
        <Show loaded={savings}>
          {(s) => (
            <>
              <div className="figures">
                <Figure label="Saved by routing" value={money(s.total.saved, s.currency)} note={`${money(s.total.cost, s.currency)} spent against ${money(s.total.baseline, s.currency)} on the models asked for`} />
                <Figure label="Response-cache hits" value={count(s.total.cache_hits)} />
              </div>
              <Table label="Savings" rows={s.rows} empty="No routed calls in this period." columns={[
                { title: 'Route', cell: (r) => r.group.route ?? '—' },
                { title: 'Tier', cell: (r) => r.group.tier ?? '—' },
                { title: 'Downgraded from', cell: (r) => r.group.downgraded_from ?? '—' },
                { title: 'Asked for', cell: (r) => r.group.baseline_model ?? '—' },
                { title: 'Served by', cell: (r) => r.group.model ?? '—' },
                { title: 'Calls', numeric: true, cell: (r) => count(r.requests) },
                { title: 'Saved', numeric: true, cell: (r) => money(r.saved, s.currency) },
              ]} />
            </>
          )}
        </Show>
      </Panel>
    </>
  );
}
