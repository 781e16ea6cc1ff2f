import { describe, expect, it } from 'vitest';
import { emptyDims } from './dimensions.js';
import { inScope, projectToEnd, thresholdsCrossed, thresholdsReached, type CallFacts } from './budget.js';

function facts(over: Partial<Record<string, string>>, groups: string[] = [], tags: Record<string, string> | null = null): CallFacts {
  const dims = { ...emptyDims(), ...over };
  return { dims, tags, groups };
}

describe('scopes', () => {
  it('cover a call when every condition holds', () => {
    expect(inScope([], facts({}))).toBe(true);
    expect(inScope([['department', { any: ['marketing'] }]], facts({ department: 'marketing' }))).toBe(true);
    expect(inScope([['department', { any: ['marketing'] }], ['model', { any: ['gpt-4o', 'gpt-4.1'] }]], facts({ department: 'marketing', model: 'gpt-4.1' }))).toBe(true);
    expect(inScope([['department', { any: ['marketing'] }]], facts({ department: 'support' }))).toBe(false);
    expect(inScope([['workflow', { any: ['triage'] }]], facts({}))).toBe(false);
  });

  it('exclude with not, match user groups and tags', () => {
    expect(inScope([['user_group', { not: ['power-users'] }]], facts({}, ['power-users']))).toBe(false);
    expect(inScope([['user_group', { not: ['power-users'] }]], facts({}, []))).toBe(true);
    expect(inScope([['user_group', { any: ['power-users'] }]], facts({}, ['staff', 'power-users']))).toBe(true);
    expect(inScope([['tag:env', { any: ['prod'] }]], facts({}, [], { env: 'prod' }))).toBe(true);
    expect(inScope([['tag:env', { any: ['prod'] }]], facts({}, [], null))).toBe(false);
  });
});

describe('thresholds', () => {
  it('are crossed once, when usage passes them, including above 100%', () => {
    const L = 1000n;
    expect(thresholdsCrossed(L, 400n, 760n, [50, 75, 90])).toEqual([50, 75]);
    expect(thresholdsCrossed(L, 760n, 800n, [50, 75, 90])).toEqual([]);
    expect(thresholdsCrossed(L, 1000n, 1150n, [110])).toEqual([110]);
    expect(thresholdsCrossed(L, 500n, 500n, [50])).toEqual([]);
    expect(thresholdsReached(L, 755n, [50, 75, 90])).toEqual([50, 75]);
    expect(thresholdsCrossed(L, 0n, 1n, [0.01])).toEqual([]);
    expect(thresholdsCrossed(100_000n, 0n, 10n, [0.01])).toEqual([0.01]);
  });

  it('project usage in a straight line to the end of the window', () => {
    expect(projectToEnd(300n, 0, 30, 10)).toBe(900n);
    expect(projectToEnd(300n, 0, 30, 40)).toBe(300n);
  });
});
