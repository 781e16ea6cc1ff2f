/**
 * The ConfigStore conformance suite: every adapter runs these same tests.
 */
import { describe, expect, it } from 'vitest';
import { verifyChain } from '../../src/core/audit.js';
import type { ConfigStore, RecordChange } from '../../src/core/ports.js';

export interface ConfigFixture {
  readonly store: ConfigStore;
  /** Shared stores: another node on the same database (its own connections and change listener). */
  readonly peer?: () => Promise<ConfigStore>;
  close(): Promise<void>;
}

const audit = (action: string, target: string) => ({ actor: 'tester', action, target, details: { n: 1 } });

/** Resolves when `check` holds, polling; fails after `ms`. */
async function until(check: () => boolean, ms: number): Promise<number> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > ms) throw new Error(`not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
  return Date.now() - start;
}

/** `shared`: the adapter serves several nodes, which must see each other's changes and share one audit chain. */
export function configStoreSuite(name: string, open: () => Promise<ConfigFixture>, shared = false): void {
  describe(`ConfigStore conformance: ${name}`, () => {
    it('writes, versions, lists and deletes records', async () => {
      const f = await open();
      try {
        const r1 = await f.store.write({ kind: 'thing', id: 'a', body: { x: 1 } }, audit('thing.create', 'thing:a'));
        expect(r1).toMatchObject({ kind: 'thing', id: 'a', body: { x: 1 }, version: 1 });
        await f.store.write({ kind: 'thing', id: 'b', body: { x: 2 } }, audit('thing.create', 'thing:b'));
        const r2 = await f.store.write({ kind: 'thing', id: 'a', body: { x: 3 }, expectVersion: 1 }, audit('thing.update', 'thing:a'));
        expect(r2!.version).toBe(2);
        expect((await f.store.get('thing', 'a'))!.body).toEqual({ x: 3 });
        expect((await f.store.list('thing')).map((r) => r.id)).toEqual(['a', 'b']);
        expect(await f.store.list('other')).toEqual([]);
        expect(await f.store.write({ kind: 'thing', id: 'b', body: null }, audit('thing.delete', 'thing:b'))).toBeNull();
        expect(await f.store.get('thing', 'b')).toBeUndefined();
      } finally {
        await f.close();
      }
    });

    it('refuses a write made against a stale version, and writes nothing', async () => {
      const f = await open();
      try {
        await f.store.write({ kind: 'thing', id: 'c', body: { v: 1 } }, audit('thing.create', 'thing:c'));
        await expect(f.store.write({ kind: 'thing', id: 'c', body: { v: 2 }, expectVersion: 0 }, audit('thing.update', 'thing:c'))).rejects.toMatchObject({ code: 'conflict' });
        expect((await f.store.get('thing', 'c'))!.body).toEqual({ v: 1 });
        expect((await f.store.audit({ target: 'thing:c' })).map((e) => e.action)).toEqual(['thing.create']);
      } finally {
        await f.close();
      }
    });

    it('chains every audit entry to the one before it, including concurrent writes', async () => {
      const f = await open();
      try {
        await Promise.all(Array.from({ length: 25 }, (_, i) => f.store.write({ kind: 'thing', id: `p${i}`, body: { i } }, audit('thing.create', `thing:p${i}`))));
        await f.store.appendAudit(audit('config.apply', 'config'));
        const entries = await f.store.audit({ limit: 1000 });
        expect(entries.length).toBeGreaterThanOrEqual(26);
        expect(verifyChain(entries)).toMatchObject({ ok: true });
        const page = await f.store.audit({ afterSeq: entries[9]!.seq, limit: 5 });
        expect(page.map((e) => e.seq)).toEqual(entries.slice(10, 15).map((e) => e.seq));
      } finally {
        await f.close();
      }
    });

    it('tells watchers about each change, with the record', async () => {
      const f = await open();
      try {
        const seen: RecordChange[] = [];
        const stop = f.store.watch((c) => seen.push(c));
        await f.store.write({ kind: 'thing', id: 'w', body: { on: true } }, audit('thing.create', 'thing:w'));
        await f.store.write({ kind: 'thing', id: 'w', body: null }, audit('thing.delete', 'thing:w'));
        stop();
        await f.store.write({ kind: 'thing', id: 'w2', body: {} }, audit('thing.create', 'thing:w2'));
        expect(seen.map((c) => [c.kind, c.id, c.record === null ? null : c.record?.body])).toEqual([['thing', 'w', { on: true }], ['thing', 'w', null]]);
      } finally {
        await f.close();
      }
    });

    if (shared) {
      it('relays each change made on another node to this node\'s watchers, without the record', async () => {
        const f = await open();
        const other = await f.peer!();
        try {
          const seen: RecordChange[] = [];
          f.store.watch((c) => seen.push(c));
          await other.write({ kind: 'thing', id: 'far', body: { v: 1 } }, audit('thing.create', 'thing:far'));
          await until(() => seen.length === 1, 5000);
          expect(seen[0]).toEqual({ kind: 'thing', id: 'far' });
          expect((await f.store.get('thing', 'far'))!.body).toEqual({ v: 1 });
          await f.store.write({ kind: 'thing', id: 'near', body: {} }, audit('thing.create', 'thing:near'));
          // Its own change is told once, with the record, not relayed back.
          await new Promise((r) => setTimeout(r, 200));
          expect(seen.map((c) => [c.id, c.record !== undefined])).toEqual([['far', false], ['near', true]]);
        } finally {
          await other.close();
          await f.close();
        }
      });

      it('keeps one audit chain when two nodes write at once', async () => {
        const f = await open();
        const other = await f.peer!();
        try {
          await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 ? f.store : other).write({ kind: 'thing', id: `n${i}`, body: { i } }, audit('thing.create', `thing:n${i}`))));
          const entries = await f.store.audit({ limit: 1000 });
          expect(entries).toHaveLength(30);
          expect(verifyChain(entries)).toMatchObject({ ok: true });
        } finally {
          await other.close();
          await f.close();
        }
      });
    }
  });
}
