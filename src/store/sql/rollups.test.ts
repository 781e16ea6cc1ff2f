import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { blankLine, LINE_STATUSES, type LedgerLine } from '../../core/ledger.js';
import { DERIVED, derivedValues, type Rollup } from './rollups.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 10, 30, 20);

/** Lines over two days from a few values of each dimension, so rows collect several lines and differ in any part of their key. */
const lineArb = fc.record({
  ts: fc.integer({ min: T0, max: T0 + DAY }),
  department: fc.constantFrom('marketing', 'legal', null),
  user: fc.constantFrom('u1', 'u2', null),
  key: fc.constantFrom('k1', 'k2'),
  model: fc.constantFrom('gpt-4o-mini', 'claude-haiku-4-5'),
  run: fc.constantFrom('run-1', 'run-2', null),
  downgraded: fc.constantFrom('gpt-4.1', null),
  status: fc.constantFrom(...LINE_STATUSES),
  cost: fc.bigInt({ min: 0n, max: 2n ** 60n }),
  input: fc.nat(10_000),
  routed: fc.boolean(),
  cacheHit: fc.boolean(),
});

describe('derived rows', () => {
  it('are the same summed from the batch\'s rows as from the lines', () => {
    fc.assert(fc.property(fc.array(lineArb, { maxLength: 60 }), (specs) => {
      const lines = specs.map((s, i): LedgerLine => {
        const b = blankLine(`id-${i}`, s.ts);
        return {
          ...b, status: s.status, costNano: s.cost, orgCostNano: s.cost, cacheHit: s.cacheHit,
          baselineOrgNano: s.routed ? s.cost + 1n : null, tokens: { ...b.tokens, input: s.input },
          dims: { ...b.dims, department: s.department, user: s.user, key: s.key, model: s.model, agent_run: s.run, downgraded_from: s.downgraded },
        };
      });
      const direct = (r: Rollup): Rollup => {
        const { from: _, ...rest } = r;
        return rest;
      };
      const sorted = (rows: readonly (readonly unknown[])[]) => rows.map((r) => r.map(String)).sort();
      const summed = derivedValues(lines);
      for (const r of DERIVED) {
        const d = direct(r);
        expect(sorted(summed.get(r)!), r.table).toEqual(sorted(derivedValues(lines, [d]).get(d)!));
      }
    }));
  });
});
