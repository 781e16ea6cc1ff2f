/**
 * The ConfigStore conformance suite: every adapter runs these same tests.
 */
import { describe, expect, it } from 'vitest';
import { verifyChain } from '../../src/core/audit.js';
import type { ConfigStore, RecordChange } from '../../src/core/ports.js';

export interface ConfigFixture {
  readonly store: ConfigStore;
  close(): Promise<void>;
}

const audit = (action: string, target: string) => ({ actor: 'tester', action, target, details: { n: 1 } });

export function configStoreSuite(name: string, open: () => Promise<ConfigFixture>): void {
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
  });
}
