/**
 * The budgets that may cover a call, found without matching every budget's scope against it. A
 * company has a budget per department, project, user group, key or agent; a call falls in a
 * handful. Each budget is filed under the values of one condition its scope requires (an `any`
 * on a dimension or tag: `project: [a, b]` files it under project a and project b), and a call
 * looks up its own value of each dimension something is filed under. Budgets whose scope requires
 * no value (the company's, or one that only excludes) are candidates for every call. Candidates
 * are then matched whole (inScope), so the index only ever saves work, never decides.
 */
import { inScope, valueOf, type CallFacts, type Matcher, type Scope, type ScopeKey } from '../core/budget.js';

/**
 * Which condition a budget is filed under, when its scope requires several: the one that fewest
 * calls carry (a key, an agent run, a user) before the broad ones (a department, a model).
 */
const SELECTIVE: readonly ScopeKey[] = [
  'agent_run', 'key', 'user', 'agent', 'workflow', 'project', 'project_code', 'application', 'team', 'user_group', 'cost_centre', 'department', 'route', 'model', 'requested_model', 'provider', 'tier', 'data_class', 'environment',
];

const rank = (key: ScopeKey): number => {
  const i = SELECTIVE.indexOf(key);
  // Tags (free-form, and often one value per workflow or customer) rank with the selective dimensions.
  return i >= 0 ? i : key.startsWith('tag:') ? SELECTIVE.indexOf('workflow') : SELECTIVE.length;
};

export class ScopeIndex<T extends { readonly scope: Scope }> {
  /** Positions (in `items`) of the budgets every call is a candidate for. */
  private readonly always: number[] = [];
  /** The condition keys budgets are filed under, and for each, value -> positions filed under it. */
  private readonly keys: ScopeKey[] = [];
  private readonly byValue: Map<string, number[]>[] = [];
  /** A call's candidates' positions, and the items found: reused across calls (see find). */
  private readonly candidates: number[] = [];
  private readonly found: T[] = [];

  constructor(private readonly items: readonly T[]) {
    items.forEach((item, i) => {
      const anchor = anchorOf(item.scope);
      if (!anchor) {
        this.always.push(i);
        return;
      }
      const [key, values] = anchor;
      let k = this.keys.indexOf(key);
      if (k < 0) {
        k = this.keys.push(key) - 1;
        this.byValue.push(new Map());
      }
      for (const v of new Set(values)) {
        const list = this.byValue[k]!.get(v);
        if (list) list.push(i);
        else this.byValue[k]!.set(v, [i]);
      }
    });
  }

  /**
   * The items whose scope covers the call, in the items' order. The array is reused by the next
   * call (admission reads it at once): nothing is allocated per call.
   */
  find(f: CallFacts): readonly T[] {
    // Written by index and never emptied (emptying an array frees its storage, and the next push allocates anew).
    const at = this.candidates;
    let n = 0;
    for (const i of this.always) at[n++] = i;
    for (let k = 0; k < this.keys.length; k++) {
      const key = this.keys[k]!;
      const byValue = this.byValue[k]!;
      if (key === 'user_group') {
        for (const g of f.groups) n = append(at, n, byValue.get(g));
      } else {
        const v = valueOf(key, f);
        if (v !== null) n = append(at, n, byValue.get(v));
      }
    }
    sortSmall(at, n);
    const found = this.found;
    let m = 0;
    for (let c = 0; c < n; c++) {
      const i = at[c]!;
      // A budget filed under several groups is found once per group of the call's that it names.
      if (c > 0 && i === at[c - 1]) continue;
      const item = this.items[i]!;
      if (inScope(item.scope, f)) found[m++] = item;
    }
    // Cutting an array to length 0 frees its storage too: a call that no budget covers gets a shared empty list instead.
    if (m === 0) return NONE;
    found.length = m;
    return found;
  }
}

/** The `any` condition a budget is filed under (the most selective), or null when its scope requires no value. */
function anchorOf(scope: Scope): readonly [ScopeKey, readonly string[]] | null {
  let best: readonly [ScopeKey, readonly string[]] | null = null;
  for (const [key, m] of scope) {
    if (!isAny(m)) continue;
    if (!best || rank(key) < rank(best[0])) best = [key, m.any];
  }
  return best;
}

const NONE: readonly never[] = [];

const isAny = (m: Matcher): m is { readonly any: readonly string[] } => 'any' in m;

/** Writes `from` into `into` from position n; returns the new count. */
function append(into: number[], n: number, from: readonly number[] | undefined): number {
  if (from) for (const i of from) into[n++] = i;
  return n;
}

/** Sorts the first n numbers in place (an insertion sort: a call has a handful of candidates). */
function sortSmall(xs: number[], n: number): void {
  for (let i = 1; i < n; i++) {
    const x = xs[i]!;
    let j = i - 1;
    while (j >= 0 && xs[j]! > x) {
      xs[j + 1] = xs[j]!;
      j--;
    }
    xs[j + 1] = x;
  }
}
