/**
 * The anomalies report over a ledger: ninety days of a department's daily spend with a weekly
 * pattern, and one day of unusual growth, which the report names; a steady department is quiet.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blankLine, type LedgerLine } from '../../src/core/ledger.js';
import { ORG_YAML, startTestBursar, type TestBursar } from '../helpers/bursar.js';

let t: TestBursar;
beforeAll(async () => {
  t = await startTestBursar({ yaml: ORG_YAML });
});
afterAll(() => t.close());

describe('anomalies', () => {
  it('name the day a department\'s spend grew unusually, and leave a steady one alone', async () => {
    const DAY = 86_400_000;
    const today = Math.floor(Date.now() / DAY) * DAY;
    const lines: LedgerLine[] = [];
    for (let d = 89; d >= 0; d--) {
      const ts = today - d * DAY + 3_600_000;
      const weekend = new Date(ts).getUTCDay() % 6 === 0;
      for (const dept of ['marketing', 'support']) {
        const wiggle = ((d * 37) % 11) - 5; // deterministic noise, +-5%
        let cost = BigInt(Math.round((weekend ? 60 : 100) + wiggle)) * 1_000_000n;
        if (dept === 'marketing' && d === 1) cost *= 3n; // yesterday, spend tripled
        const b = blankLine(`an-${dept}-${d}`, ts);
        lines.push({ ...b, dims: { ...b.dims, department: dept }, costNano: cost, orgCostNano: cost, endpoint: 'chat', status: 'ok' });
      }
    }
    await t.b.stores.ledger.append(lines);
    const rows = (await t.admin<{ data: { member: string; day: string; metric: string; value: number; baseline: number; score: number }[] }>('GET', '/reports/anomalies?by=department&metric=spend&recent=7')).body.data;
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ member: 'marketing', metric: 'spend', day: new Date(today - DAY).toISOString().slice(0, 10) });
    expect(rows[0]!.value).toBeGreaterThan(2 * rows[0]!.baseline);
    expect(rows[0]!.score).toBeGreaterThan(3.5);
    expect((await t.admin<{ error: { param: string } }>('GET', '/reports/anomalies?metric=vibes')).body.error.param).toBe('metric');
    // As alerts: an event once per department and day, for finance and the department's manager.
    expect(await t.b.anomalyAlerts.check()).toBe(1);
    expect(await t.b.anomalyAlerts.check()).toBe(0);
    const events = (await t.admin<{ data: { kind: string; details: { department: string; day: string } }[] }>('GET', '/events?budget=department:marketing')).body.data;
    expect(events).toEqual([expect.objectContaining({ kind: 'anomaly', details: expect.objectContaining({ department: 'marketing', day: rows[0]!.day }) })]);
  });
});
