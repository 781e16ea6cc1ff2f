/**
 * Scenario planning from the last three whole months: the baseline carried forward with price
 * deflation, expansion and breakthrough multiples, and the weighted forecast, exactly.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blankLine } from '../../src/core/ledger.js';
import { parseDecimal } from '../../src/core/money.js';
import { ORG_YAML, startTestBursar, type TestBursar } from '../helpers/bursar.js';

let t: TestBursar;
beforeAll(async () => {
  t = await startTestBursar({ yaml: ORG_YAML });
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
