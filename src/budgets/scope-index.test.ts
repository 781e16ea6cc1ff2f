import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { inScope, type CallFacts, type Matcher, type Scope, type ScopeKey } from '../core/budget.js';
import { emptyDims, type Dimension } from '../core/dimensions.js';
import { ScopeIndex } from './scope-index.js';

const KEYS: readonly ScopeKey[] = ['department', 'project', 'user', 'user_group', 'model', 'key', 'environment', 'tag:channel'];
const VALUES = ['a', 'b', 'c'];

const matcher: fc.Arbitrary<Matcher> = fc.oneof(
  fc.uniqueArray(fc.constantFrom(...VALUES), { maxLength: 3 }).map((any) => ({ any })),
  fc.uniqueArray(fc.constantFrom(...VALUES), { minLength: 1, maxLength: 2 }).map((not) => ({ not })),
);
const scope: fc.Arbitrary<Scope> = fc.uniqueArray(fc.tuple(fc.constantFrom(...KEYS), matcher), { maxLength: 3, selector: ([k]) => k });
const value = fc.option(fc.constantFrom(...VALUES), { nil: null });
const facts: fc.Arbitrary<CallFacts> = fc
  .record({ department: value, project: value, user: value, model: value, key: value, environment: value, channel: value, groups: fc.uniqueArray(fc.constantFrom(...VALUES), { maxLength: 3 }) })
  .map(({ channel, groups, ...dims }) => {
    const d = emptyDims();
    for (const [k, v] of Object.entries(dims)) d[k as Dimension] = v;
    return { dims: d, tags: channel === null ? null : { channel }, groups };
  });

describe('ScopeIndex', () => {
  it('finds exactly the budgets whose scope covers a call, in their order', () => {
    fc.assert(
      fc.property(fc.array(scope, { maxLength: 40 }), fc.array(facts, { minLength: 1, maxLength: 10 }), (scopes, calls) => {
        const items = scopes.map((s, i) => ({ id: i, scope: s }));
        const index = new ScopeIndex(items);
        for (const f of calls) expect(index.find(f).map((x) => x.id)).toEqual(items.filter((x) => inScope(x.scope, f)).map((x) => x.id));
      }),
      { numRuns: 500 },
    );
  });

  it('files a budget that requires several values under one of them, and keeps those that require none for every call', () => {
    const items = [
      { id: 'company', scope: [] as Scope },
      { id: 'support-bot', scope: [['department', { any: ['support'] }], ['project', { any: ['bot'] }]] as Scope },
      { id: 'support', scope: [['department', { any: ['support'] }]] as Scope },
      { id: 'not-sales', scope: [['department', { not: ['sales'] }]] as Scope },
    ];
    const index = new ScopeIndex(items);
    const call = (department: string, project: string | null): CallFacts => ({ dims: { ...emptyDims(), department, project }, tags: null, groups: [] });
    expect(index.find(call('support', 'bot')).map((x) => x.id)).toEqual(['company', 'support-bot', 'support', 'not-sales']);
    expect(index.find(call('support', null)).map((x) => x.id)).toEqual(['company', 'support', 'not-sales']);
    expect(index.find(call('sales', 'bot')).map((x) => x.id)).toEqual(['company']);
  });
});
