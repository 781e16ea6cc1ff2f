import { describe, expect, it } from 'vitest';
import type { UsageQuery } from '../core/ledger.js';
import type { EventLog, LedgerStore } from '../core/ports.js';
import { AnomalyAlerts } from './anomaly-alerts.js';
import type { Notifier } from './notifier.js';

describe('anomaly alerts', () => {
  it('read a history several kinds share once per check, and again at the next check', async () => {
    const reads: UsageQuery[] = [];
    const ledger = { aggregate: async (q: UsageQuery) => (reads.push(q), []), outcomeTotals: async () => [] } as unknown as LedgerStore;
    const alerts = new AnomalyAlerts({
      ledger, events: { record: async () => true } as unknown as EventLog, notifier: { publish: async () => {} } as unknown as Notifier,
      kinds: ['spend', 'output_ratio', 'unproductive', 'premium_share'],
    });
    const now = Date.UTC(2026, 10, 20, 12);
    expect(await alerts.check(now)).toBe(0);
    // All four read one history; premium share also reads the premium tier's cost.
    expect(reads.map((q) => `${q.groupBy.join(',')}${q.where ? ` ${JSON.stringify(q.where)}` : ''}`)).toEqual(['department,day,source,status', 'department,day,source {"tier":["premium"]}']);
    await alerts.check(now);
    expect(reads).toHaveLength(4);
  });
});
