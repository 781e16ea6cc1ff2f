import { describe, expect, it } from 'vitest';
import { blankLine, type LedgerLine } from '../../core/ledger.js';
import { compileCells, LEDGER_COLUMNS, rowToLine } from './columns.js';

const line: LedgerLine = {
  ...blankLine('01a20cc7-7f50-7cae-afef-81d59a4ad4be', 1_700_000_000_000),
  dims: { ...blankLine('', 0).dims, department: 'support', user: 'bob', budget_category: 'ops', baseline_model: 'gpt-4o' },
  tags: { channel: 'web' },
  stream: true,
  tokens: { input: 5, cached_input: 1, cache_write: 2, output: 3, reasoning: 4 },
  costNano: 12_345n,
  budgetCharges: { keys: ['b|1|'], nanos: [7n] },
  acceptedOutput: false,
  usageExact: false,
};

describe('ledger columns', () => {
  it('read every column named by a path from a field a line has', () => {
    for (const c of LEDGER_COLUMNS.filter((x) => x.path !== null)) expect(c.get(line), c.name).not.toBeUndefined();
  });

  it('compile to cells that hold each column value, booleans converted, and mark the columns given one', () => {
    const cells: unknown[] = ['left over'];
    const used = new Uint8Array(LEDGER_COLUMNS.length);
    compileCells(LEDGER_COLUMNS, (b) => (b ? 1 : 0))(line, cells, 1, used);
    const expected = LEDGER_COLUMNS.map((c) => {
      const v = c.get(line);
      return typeof v === 'boolean' ? (v ? 1 : 0) : v;
    });
    expect(cells).toEqual(['left over', ...expected]);
    expect([...used]).toEqual(expected.map((v) => (v === null ? 0 : 1)));
    // What the cells hold is the line again, read back as a stored row.
    const row = Object.fromEntries(LEDGER_COLUMNS.map((c, i) => [c.name, expected[i]]));
    expect(rowToLine(row)).toEqual(line);
  });
});
