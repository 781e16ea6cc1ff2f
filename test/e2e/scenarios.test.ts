/**
 * Scenario planning from the last three whole months: the baseline carried forward with price
 * deflation, expansion and breakthrough multiples, and the weighted forecast, exactly. And
 * consumption corridors: a month's spend as a share of a business metric, against its floor and ceiling.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blankLine } from '../../src/core/ledger.js';
import { parseDecimal } from '../../src/core/money.js';
import { ORG_YAML, startTestBursar, type TestBursar } from '../helpers/bursar.js';

let t: TestBursar;
beforeAll(async () => {
  t = await startTestBursar({
    yaml: `${ORG_YAML}
corridors:
  - { id: support-ai, departments: [support], metric: revenue, floor_percent: "2", ceiling_percent: "4" }
  - { id: marketing-ai, departments: [marketing], metric: revenue, floor_percent: "2", ceiling_percent: "2.5" }
  - { id: platform-ai, departments: [platform], metric: headcount-cost, floor_percent: "1", ceiling_percent: "3" }
`,
  });
});
afterAll(() => t.close());

describe('scenarios', () => {
  it('carry the last three months forward with deflation, multiples and probabilities', async () => {
    const now = new Date();
    const lines = [1, 2, 3].map((k) => {
      const b = blankLine(`sc-${k}`, Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - k, 10));
      return { ...b, dims: { ...b.dims, department: 'support' }, costNano: 100_000_000_000n, orgCostNano: 100_000_000_000n, endpoint: 'chat' };
    });
    await t.b.stores.ledger.append(lines);
    type Rep = { currency: string; monthly_base: string; months: { month: string; baseline: string; expansion: string; breakthrough: string; weighted: string }[]; totals: Record<string, string> };
    const [r] = (await t.admin<{ data: Rep[] }>('GET', '/reports/scenarios?months=12&deflation_percent=20')).body.data;
    expect(r).toMatchObject({ currency: 'USD', monthly_base: '100' });
    // A year on, prices are 20% lower: 80; twice and three times the usage; weighted 0.6/0.3/0.1.
    expect(r!.months[11]).toMatchObject({ baseline: '80', expansion: '160', breakthrough: '240', weighted: '120' });
    expect(parseDecimal(r!.months[0]!.baseline)).toBeLessThan(100_000_000_000n);
    expect(r!.months.reduce((a, m) => a + parseDecimal(m.weighted), 0n)).toBe(parseDecimal(r!.totals.weighted!));
    expect((await t.admin<{ error: { code: string } }>('GET', '/reports/scenarios?p_baseline=0.5')).body.error.code).toBe('validation_failed');
  });
});

describe('consumption corridors', () => {
  it('hold a month\'s spend against a share of the business metric fed through the API', async () => {
    const now = new Date();
    const period = now.toISOString().slice(0, 7);
    const ts = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1, 12);
    const line = (id: string, dept: string, nano: bigint) => {
      const b = blankLine(id, ts);
      return { ...b, dims: { ...b.dims, department: dept }, costNano: nano, orgCostNano: nano, endpoint: 'chat' };
    };
    await t.b.stores.ledger.append([line('co-s', 'support', 30_000_000_000n), line('co-m', 'marketing', 50_000_000_000n)]);
    expect((await t.admin('POST', '/allocations/metrics', { name: 'revenue', period, values: { support: '1000', marketing: '1000' } })).status).toBe(201);
    type Row = { id: string; spend: string; metric: string | null; share_percent: string | null; status: string; floor: string | null; ceiling: string | null };
    const rows = (await t.admin<{ data: Row[] }>('GET', `/reports/corridors?period=${period}`)).body.data;
    const by = (id: string) => rows.find((r) => r.id === id)!;
    expect(by('support-ai')).toMatchObject({ spend: '30', metric: '1000', share_percent: '3.0000', status: 'within', floor: '20', ceiling: '40' });
    expect(by('marketing-ai')).toMatchObject({ spend: '50', share_percent: '5.0000', status: 'above_ceiling', ceiling: '25' });
    expect(by('platform-ai')).toMatchObject({ metric: null, status: 'no_metric' });
  });
});
