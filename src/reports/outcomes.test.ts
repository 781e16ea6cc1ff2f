import { describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../access/actor.js';
import type { RunVerdictTotals, UsageRow } from '../core/ledger.js';
import type { LedgerStore } from '../core/ports.js';
import { unitEconomics } from './outcomes.js';

const usage = (workflow: string, costNano: bigint): UsageRow => ({
  group: { workflow, source: 'gateway', fallback_model: null, status: 'ok', cache_hit: 'false' }, currency: 'USD', requests: 2,
  tokens: { input: 0, cached_input: 0, cache_write: 0, output: 0, reasoning: 0 }, costNano, orgCostNano: costNano, estimatedLines: 0,
});

describe('unit economics', () => {
  it('shows the runs of a group or currency that cost nothing in the period, in a row of their own', async () => {
    const verdicts: RunVerdictTotals[] = [
      { group: { workflow: 'triage' }, currency: 'USD', verdict: 'abandoned', runs: 2, costNano: 5_000_000_000n },
      // Runs that began before the period (their first call's group has no cost in it), and a run in the organisation's currency.
      { group: { workflow: 'drafting' }, currency: 'USD', verdict: 'blocked', runs: 1, costNano: 3_000_000_000n },
      { group: { workflow: 'triage' }, currency: 'GBP', verdict: 'abandoned', runs: 1, costNano: 1_000_000_000n },
    ];
    const ledger = {
      outcomeTotals: async () => [],
      aggregate: async () => [usage('triage', 8_000_000_000n)],
      runVerdicts: async () => verdicts,
    } as unknown as LedgerStore;
    const { rows } = await unitEconomics(ledger, { from: '2026-11-01', to: '2026-12-01' }, SYSTEM_ACTOR, new Date(Date.UTC(2026, 10, 20)));
    const got = rows.map((r) => [r.group.workflow, r.currency, r.calls, r.cost, r.blocked_runs, r.blocked_run_cost, r.abandoned_runs, r.abandoned_run_cost]);
    expect(got).toEqual([
      ['triage', 'USD', 2, '8', 0, '0', 2, '5'],
      ['drafting', 'USD', 0, '0', 1, '3', 0, '0'],
      ['triage', 'GBP', 0, '0', 0, '0', 1, '1'],
    ]);
  });
});
