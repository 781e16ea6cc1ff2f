/**
 * The agents report: per agent, its runs in a period, their calls, refusals (the loop guard's
 * apart) and cost, cost per run, and its longest run; cut to what the asker may see. Served by
 * the run rollup over whole days; a member's own runs are summed from their lines.
 */
import type { AgentSummary } from '../core/ledger.js';
import type { LedgerStore } from '../core/ports.js';
import { decimalText } from '../core/money.js';
import { visibleDepartments, visibleUser, type Actor } from '../access/actor.js';
import { reportQuery } from './usage.js';

export interface AgentRow {
  readonly agent: string;
  readonly runs: number;
  readonly calls: number;
  readonly refused: number;
  readonly loop_refused: number;
  /** Exact decimals in the organisation's currency. */
  readonly cost: string;
  readonly cost_per_run: string | null;
  readonly longest_run: string;
  readonly longest_run_calls: number;
}

export async function agentsReport(ledger: LedgerStore, query: Record<string, unknown>, actor: Actor, orgCurrency: string, now = new Date()): Promise<{ from: string; to: string; currency: string; data: AgentRow[] }> {
  const { from, to } = reportQuery(query, now);
  const user = visibleUser(actor);
  const summaries = user ? await ownRuns(ledger, from, to, user) : await ledger.agentSummary({ from, to, ...(visibleDepartments(actor) ? { department: visibleDepartments(actor)! } : {}) });
  return {
    from: new Date(from).toISOString(),
    to: new Date(to).toISOString(),
    currency: orgCurrency,
    data: summaries.map((a) => ({
      agent: a.agent, runs: a.runs, calls: a.calls, refused: a.refused, loop_refused: a.loopRefused, cost: decimalText(a.orgCostNano),
      cost_per_run: a.runs ? decimalText(a.orgCostNano / BigInt(a.runs)) : null, longest_run: a.longestRun, longest_run_calls: a.longestRunCalls,
    })),
  };
}

/** A member's own runs: few, so summed from their lines. */
async function ownRuns(ledger: LedgerStore, from: number, to: number, user: string): Promise<AgentSummary[]> {
  const rows = await ledger.aggregate({ from, to, groupBy: ['agent', 'agent_run', 'status', 'error_code'], where: { user: [user] } });
  const agents = new Map<string, { runs: Map<string, number>; calls: number; refused: number; loop: number; cost: bigint }>();
  for (const r of rows) {
    const agent = r.group.agent;
    const run = r.group.agent_run;
    if (!agent || !run) continue;
    const a = agents.get(agent) ?? { runs: new Map(), calls: 0, refused: 0, loop: 0, cost: 0n };
    a.runs.set(run, (a.runs.get(run) ?? 0) + r.requests);
    a.calls += r.requests;
    if (r.group.status === 'refused') a.refused += r.requests;
    if (r.group.error_code === 'agent_loop') a.loop += r.requests;
    a.cost += r.orgCostNano;
    agents.set(agent, a);
  }
  return [...agents].map(([agent, a]) => {
    const [longestRun, longestRunCalls] = [...a.runs].sort((x, y) => y[1] - x[1] || x[0].localeCompare(y[0]))[0]!;
    return { agent, runs: a.runs.size, calls: a.calls, refused: a.refused, loopRefused: a.loop, orgCostNano: a.cost, longestRun, longestRunCalls };
  }).sort((x, y) => (y.orgCostNano > x.orgCostNano ? 1 : y.orgCostNano < x.orgCostNano ? -1 : x.agent.localeCompare(y.agent)));
}
