/**
 * The agents report: per agent, its runs of a period (those whose last call falls in it, each
 * whole), their calls, refusals (the loop guard's apart) and cost, cost per run, and its longest
 * run; cut to what the asker may see (by the department and user of each run's first call).
 */
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
  const departments = visibleDepartments(actor);
  const user = visibleUser(actor);
  const summaries = await ledger.agentSummary({ from, to, ...(departments ? { department: departments } : {}), ...(user ? { user: [user] } : {}) });
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
