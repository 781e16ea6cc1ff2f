import { describe, expect, it } from 'vitest';
import { InFlight } from './in-flight.js';

describe('InFlight', () => {
  it('holds what was added until its node is removed, newest first', () => {
    const set = new InFlight<string>();
    const a = set.add('a');
    const b = set.add('b');
    const c = set.add('c');
    expect([...set]).toEqual(['c', 'b', 'a']);
    expect(set.size).toBe(3);

    set.remove(b);
    expect([...set]).toEqual(['c', 'a']);
    set.remove(c);
    expect([...set]).toEqual(['a']);
    set.remove(a);
    expect([...set]).toEqual([]);
    expect(set.size).toBe(0);
  });

  it('ignores a second removal of the same node', () => {
    const set = new InFlight<string>();
    const a = set.add('a');
    set.add('b');
    set.remove(a);
    set.remove(a);
    expect([...set]).toEqual(['b']);
    expect(set.size).toBe(1);
  });

  it('leaves a removed node pointing at nothing', () => {
    const set = new InFlight<{ id: number }>();
    const first = set.add({ id: 1 });
    const middle = set.add({ id: 2 });
    set.add({ id: 3 });
    set.remove(middle);
    expect(middle).toEqual({ value: null, prev: null, next: null });
    set.remove(first);
    expect(first).toEqual({ value: null, prev: null, next: null });
  });

  it('may be changed while going through it', () => {
    const set = new InFlight<number>();
    const nodes = [1, 2, 3, 4].map((n) => set.add(n));
    const seen: number[] = [];
    for (const n of set) {
      seen.push(n);
      set.remove(nodes[n - 1]!);
    }
    expect(seen).toEqual([4, 3, 2, 1]);
    expect(set.size).toBe(0);
  });
});
