import { describe, expect, it } from 'vitest';
import { chainEntry, GENESIS_HASH, verifyChain } from './audit.js';
import type { AuditEntry } from './ports.js';

function chain(n: number): AuditEntry[] {
  const out: AuditEntry[] = [];
  let prev = GENESIS_HASH;
  for (let i = 1; i <= n; i++) {
    const e = chainEntry(i, 1_700_000_000_000 + i, prev, { actor: 'alice', action: 'key.create', target: `key:${i}`, details: { label: `k${i}`, nested: { b: 1, a: [2, 3] } } });
    out.push(e);
    prev = e.hash;
  }
  return out;
}

describe('audit chain', () => {
  it('verifies an intact chain', () => {
    expect(verifyChain(chain(5))).toMatchObject({ ok: true, entries: 5 });
  });

  it('finds an edited, a removed and a reordered entry', () => {
    const edited = chain(5);
    edited[2] = { ...edited[2]!, details: { label: 'changed' } };
    expect(verifyChain(edited)).toMatchObject({ ok: false, brokenAt: 3, reason: expect.stringContaining('edited') });
    const removed = chain(5).filter((e) => e.seq !== 3);
    expect(verifyChain(removed)).toMatchObject({ ok: false, brokenAt: 4 });
    const c = chain(5);
    const swapped = [c[0]!, c[2]!, c[1]!, c[3]!, c[4]!];
    expect(verifyChain(swapped).ok).toBe(false);
  });

  it('hashes the same content the same way whatever the key order', () => {
    const a = chainEntry(1, 1, GENESIS_HASH, { actor: 'a', action: 'x', target: 't', details: { x: 1, y: 2 } });
    const b = chainEntry(1, 1, GENESIS_HASH, { actor: 'a', action: 'x', target: 't', details: { y: 2, x: 1 } });
    expect(a.hash).toBe(b.hash);
  });
});
