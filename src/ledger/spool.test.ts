import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { blankLine, type LedgerLine } from '../core/ledger.js';
import { decodeLine, encodeLine, readLeftovers, Spool } from './spool.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));
const tmp = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'spool-'));
  dirs.push(d);
  return d;
};

function line(id: string, over: Partial<LedgerLine> = {}): LedgerLine {
  const b = blankLine(id, 1_700_000_000_000);
  return { ...b, dims: { ...b.dims, department: 'support', model: 'gpt-4o-mini', workflow: 'w "quoted"' }, tags: { t: '1' }, costNano: 12_345_678_901_234_567_890n, status: 'unsettled', usageExact: false, ...over };
}

describe('spool records', () => {
  it('round-trip every field through the compact encoding', () => {
    const l = line('a', {
      tokens: { input: 5, cached_input: 1, cache_write: 2, output: 3, reasoning: 4 }, latencyMs: 9, stream: true, httpStatus: null, acceptedOutput: false,
      budgetCharges: { keys: ['b|1|alice', 'p|2|"zoë"\\\n'], nanos: [9_007_199_254_740_993n, 0n] }, orgCostNano: 77n, orgCurrency: 'GBP', fxRate: 790_000_000n,
    });
    expect(decodeLine(JSON.parse(encodeLine(l)))).toEqual(l);
    const blank = blankLine('b', 5);
    expect(decodeLine(JSON.parse(encodeLine(blank)))).toEqual(blank);
    expect(encodeLine(blank).length).toBeLessThan(200);
  });

  it('group-commits a loop turn in one write, and replays intents and outcomes', async () => {
    const dir = tmp();
    const spool = new Spool(dir, false);
    const a = spool.append('i', line('a'), true);
    const b = spool.append('i', line('b'), true);
    expect(readLeftovers(dir).records).toHaveLength(0);
    await Promise.all([a.written, b.written]);
    spool.append('o', line('a', { status: 'ok', usageExact: true, costNano: 7n, budgetCharges: { keys: ['b|1|'], nanos: [5n] }, orgCostNano: 6n }));
    spool.close();
    const { records } = readLeftovers(dir);
    expect(records.map((r) => [r.kind, r.line.id, r.line.status])).toEqual([['intent', 'a', 'unsettled'], ['intent', 'b', 'unsettled'], ['final', 'a', 'ok']]);
    expect(records[2]!.line.dims.workflow).toBe('w "quoted"');
    expect(records[2]!.line.costNano).toBe(7n);
    expect(records[2]!.line.budgetCharges).toEqual({ keys: ['b|1|'], nanos: [5n] });
    expect(records[2]!.line.orgCostNano).toBe(6n);
  });

  it('writes a context once for the intents that share it, and replays each intent whole', async () => {
    const dir = tmp();
    const spool = new Spool(dir, false);
    const a = line('a', { latencyMs: 1 });
    const b = line('b', { latencyMs: 2, tokens: { input: 9, cached_input: 0, cache_write: 0, output: 7, reasoning: 0 } });
    const c = line('c', { dims: { ...a.dims, workflow: 'other' } });
    // A call's dimensions change after its intent when it falls back to another model: what was written stays.
    const d = line('d');
    const written = [a, b, c, d].map((l) => spool.append('i', l, true).written);
    const dAsWritten = structuredClone(d);
    (d.dims as { model: string | null }).model = 'gpt-4.1-mini';
    const e = line('e', { dims: { ...d.dims } });
    written.push(spool.append('i', e, true).written);
    await Promise.all(written);
    spool.close();
    const text = readdirSync(dir).map((f) => readFileSync(join(dir, f), 'utf8')).join('');
    expect(text.split('\n').filter((r) => r.startsWith('{"k":"c"'))).toHaveLength(4);
    expect(readLeftovers(dir).records.map((r) => r.line)).toEqual([a, b, c, dAsWritten, e]);
  });

  it('deletes a segment once everything in it is committed', async () => {
    const dir = tmp();
    const spool = new Spool(dir, false);
    const { segment, written } = spool.append('i', line('a'), true);
    await written;
    spool.committed(segment);
    spool.close();
    expect(readdirSync(dir)).toEqual([]);
  });
});
