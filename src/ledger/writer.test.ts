import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { blankLine, type LedgerLine } from '../core/ledger.js';
import type { AppendResult, LedgerStore } from '../core/ports.js';
import { LedgerWriter, recoverSpool } from './writer.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A store held in memory that can be made to fail. */
class MemoryStore implements LedgerStore {
  readonly lines = new Map<string, LedgerLine>();
  failing = false;
  async append(lines: readonly LedgerLine[]): Promise<AppendResult> {
    if (this.failing) throw new Error('store down');
    const added = lines.filter((l) => !this.lines.has(l.id));
    for (const l of added) this.lines.set(l.id, l);
    return { added, commit: null };
  }
  async budgetTotals() { return { amounts: [], snapshot: null }; }
  async get(id: string) { return this.lines.get(id); }
  async aggregate() { return []; }
  async *scan() {}
  async firstMatchGroups() { return { groups: [], complete: true, firstId: null, lastId: null }; }
  async recordOutcomes() {}
  async outcomeTotals() { return []; }
  async agentRuns() { return []; }
  async runVerdicts() { return []; }
  async agentSummary() { return []; }
  async close() {}
}

const line = (id: string, status: LedgerLine['status'], cost: bigint): LedgerLine => ({ ...blankLine(id, 1), status, costNano: cost, usageExact: status === 'ok' });

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'writer-'));
  dirs.push(dir);
  const store = new MemoryStore();
  const writer = new LedgerWriter(store, dir, { batchSize: 100, flushMs: 10, fsync: false });
  return { dir, store, writer };
}

describe('LedgerWriter', () => {
  it('writes final lines in batches and leaves nothing in the spool', async () => {
    const { dir, store, writer } = setup();
    for (let i = 0; i < 250; i++) {
      await writer.intent(line(`c${i}`, 'unsettled', 1000n));
      writer.record(line(`c${i}`, 'ok', 10n));
    }
    await writer.close();
    expect(store.lines.size).toBe(250);
    expect([...store.lines.values()].every((l) => l.status === 'ok')).toBe(true);
    const again = new MemoryStore();
    expect(await recoverSpool(again, dir)).toMatchObject({ finals: 0, unsettled: 0 });
  });

  it("lets a fallback's intent replace the attempt's before it, so the spool still empties", async () => {
    const { dir, store, writer } = setup();
    await writer.intent(line('c1', 'unsettled', 1000n));
    // The first model answered 429: the call goes on to a fallback, whose worst case is recorded in turn.
    await writer.intent(line('c1', 'unsettled', 3000n));
    writer.record(line('c1', 'ok', 10n));
    await writer.close();
    expect(store.lines.get('c1')?.costNano).toBe(10n);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('keeps final lines on disk while the store is down; the next start writes them exactly once', async () => {
    const { dir, store, writer } = setup();
    store.failing = true;
    await writer.intent(line('x', 'unsettled', 1000n));
    writer.record(line('x', 'ok', 10n));
    await writer.intent(line('y', 'unsettled', 2000n));
    writer.record(line('y', 'error', 0n));
    await writer.intent(line('z', 'unsettled', 3000n)); // still in flight when Bursar stops
    await writer.flush();
    expect(writer.pending).toBe(2);
    await writer.close(0);
    expect(store.lines.size).toBe(0);

    const restarted = new MemoryStore();
    restarted.lines.set('y', line('y', 'error', 0n)); // one of them did reach the store after all
    const r = await recoverSpool(restarted, dir);
    expect(r).toMatchObject({ finals: 2, unsettled: 1, added: 2 });
    expect([...restarted.lines.values()].map((l) => [l.id, l.status, l.costNano]).sort()).toEqual([['x', 'ok', 10n], ['y', 'error', 0n], ['z', 'unsettled', 3000n]]);
    expect(await recoverSpool(new MemoryStore(), dir)).toMatchObject({ added: 0 });
  });

  it('retries a failed batch when the store comes back', async () => {
    const { store, writer } = setup();
    store.failing = true;
    await writer.intent(line('r', 'unsettled', 1n));
    writer.record(line('r', 'ok', 1n));
    await writer.flush();
    expect(store.lines.size).toBe(0);
    store.failing = false;
    await writer.close();
    expect(store.lines.get('r')?.status).toBe('ok');
  });
});
