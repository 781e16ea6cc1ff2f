/**
 * The LedgerStore conformance suite: every adapter (SQLite, PostgreSQL) runs these same tests.
 */
import { describe, expect, it } from 'vitest';
import { blankLine, type LedgerLine } from '../../src/core/ledger.js';
import type { LedgerStore } from '../../src/core/ports.js';

export interface LedgerFixture {
  readonly store: LedgerStore;
  close(): Promise<void>;
}

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 10, 1);

export function line(id: string, over: Partial<LedgerLine> & { dept?: string; model?: string } = {}): LedgerLine {
  const { dept, model, ...rest } = over;
  const base = blankLine(id, T0);
  return {
    ...base,
    dims: { ...base.dims, department: dept ?? 'marketing', model: model ?? 'gpt-4o-mini', provider: 'openai' },
    tokens: { input: 100, cached_input: 10, cache_write: 0, output: 50, reasoning: 5 },
    costNano: 1_000n,
    ...rest,
  };
}

export function ledgerStoreSuite(name: string, open: () => Promise<LedgerFixture>): void {
  describe(`LedgerStore conformance: ${name}`, () => {
    it('stores every field and gives it back unchanged', async () => {
      const f = await open();
      try {
        const l = line('full-1', {
          tags: { ticket: 'T-1', 'a.b': 'x y' }, stream: true, cacheHit: true, acceptedOutput: false, humanReview: true,
          httpStatus: 200, errorCode: null, latencyMs: 123, ttfbMs: 45, usageExact: false, status: 'partial',
          priceVersion: 'openai/gpt-4o-mini@2024-07-18', costNano: 9_007_199_254_740_993n, currency: 'EUR', toolCalls: 3,
          agentSteps: 2, retrievalCalls: 1, runStatus: 'done', blockEvent: 'budget:x', spendCategory: 'development', endpoint: 'chat',
        });
        expect(await f.store.append([l])).toBe(1);
        expect(await f.store.get('full-1')).toEqual(l);
        expect(await f.store.get('missing')).toBeUndefined();
      } finally {
        await f.close();
      }
    });

    it('skips a line whose id is already there, so replays count once', async () => {
      const f = await open();
      try {
        expect(await f.store.append([line('dup-1'), line('dup-2')])).toBe(2);
        expect(await f.store.append([line('dup-2', { costNano: 999n }), line('dup-3')])).toBe(1);
        expect((await f.store.get('dup-2'))!.costNano).toBe(1_000n);
      } finally {
        await f.close();
      }
    });

    it('aggregates by dimensions, day and tag, per currency, with exact sums past 2^53', async () => {
      const f = await open();
      try {
        const big = 6_000_000_000_000_000n; // two of these pass 2^53
        await f.store.append([
          line('a1', { dept: 'marketing', costNano: big, tags: { ticket: 'T1' } }),
          line('a2', { dept: 'marketing', costNano: big, tags: { ticket: 'T2' } }),
          line('a3', { dept: 'support', costNano: 7n, ts: T0 + DAY, usageExact: false }),
          line('a4', { dept: 'support', costNano: 5n, currency: 'EUR', ts: T0 + DAY }),
          line('a5', { dept: 'support', costNano: 1n, ts: T0 + 40 * DAY }),
        ]);
        const rows = await f.store.aggregate({ from: T0, to: T0 + 30 * DAY, groupBy: ['department'] });
        const m = rows.find((r) => r.group.department === 'marketing')!;
        expect(m.costNano).toBe(2n * big);
        expect(m.requests).toBe(2);
        expect(m.tokens).toEqual({ input: 200, cached_input: 20, cache_write: 0, output: 100, reasoning: 10 });
        const s = rows.filter((r) => r.group.department === 'support').map((r) => [r.currency, r.costNano, r.estimatedLines]);
        expect(s).toEqual(expect.arrayContaining([['USD', 7n, 1], ['EUR', 5n, 0]]));
        expect(rows[0]!.group.department).toBe('marketing');

        const byDay = await f.store.aggregate({ from: T0, to: T0 + 30 * DAY, groupBy: ['day'], where: { department: ['support'] } });
        expect(byDay.map((r) => [r.group.day, r.currency])).toEqual(expect.arrayContaining([['2026-11-02', 'USD'], ['2026-11-02', 'EUR']]));
        const byTag = await f.store.aggregate({ from: T0, to: T0 + 30 * DAY, groupBy: ['tag:ticket'], where: { department: ['marketing'] } });
        expect(byTag.map((r) => r.group['tag:ticket']).sort()).toEqual(['T1', 'T2']);
        expect(await f.store.aggregate({ from: T0, to: T0 + DAY, groupBy: ['department'], where: { department: [] } })).toEqual([]);
      } finally {
        await f.close();
      }
    });

    it('scans a period in time order, page after page', async () => {
      const f = await open();
      try {
        const n = 12_345;
        const lines = Array.from({ length: n }, (_, i) => line(`s-${String(i).padStart(6, '0')}`, { ts: T0 + Math.floor(i / 3) }));
        for (let i = 0; i < n; i += 4000) await f.store.append(lines.slice(i, i + 4000));
        await f.store.append([line('outside', { ts: T0 + 10 * DAY })]);
        let count = 0;
        let last = -1;
        for await (const l of f.store.scan({ from: T0, to: T0 + DAY })) {
          expect(l.ts).toBeGreaterThanOrEqual(last);
          last = l.ts;
          count++;
        }
        expect(count).toBe(n);
      } finally {
        await f.close();
      }
    });
  });
}
