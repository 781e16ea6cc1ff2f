import { describe, expect, it } from 'vitest';
import { routeSpecSchema } from './model.js';
import { Router, type RouteContext } from './router.js';

const spec = routeSpecSchema.parse({
  id: 'drafting',
  tiers: { premium: 'p-model', standard: 's-model', economy: 'e-model' },
  default_tier: 'standard',
  downgrade: [{ at: 50, to: 'standard' }, { at: 80, to: 'economy' }],
});
const router = new Router([spec], () => {});
const at = (percent: number | null, exception: string | null = null, approved: string | null = null): RouteContext => ({
  share: async () => (percent === null ? null : { percent, budget: 'b' }),
  exception,
  approved: () => approved,
});

describe('Router', () => {
  it('steps down by the highest rung reached, and never up', async () => {
    expect((await router.route('route:drafting/premium', null, at(10, 'why'))).tier).toBe('premium');
    expect((await router.route('route:drafting/premium', null, at(60, 'why'))).tier).toBe('standard');
    expect((await router.route('route:drafting/premium', null, at(85, 'why'))).tier).toBe('economy');
    expect((await router.route('route:drafting/economy', null, at(60))).tier).toBe('economy');
    expect((await router.route('route:drafting', null, at(60))).downgradedFrom).toBeNull();
    const down = await router.route('route:drafting', null, at(80));
    expect(down).toMatchObject({ tier: 'economy', model: 'e-model', downgradedFrom: 'standard' });
    expect((await router.route('route:drafting/premium', null, at(null, 'why'))).tier).toBe('premium');
  });

  it('falls back to a tier\'s other deployments first, then to the route\'s fallbacks', async () => {
    const lb = new Router([routeSpecSchema.parse({ id: 'lb', tiers: { standard: [{ model: 'a', weight: 2 }, { model: 'b' }] }, default_tier: 'standard', fallbacks: ['c', 'a'] })], () => {});
    const picks = [];
    for (let i = 0; i < 6; i++) picks.push((await lb.route('route:lb', null, at(null))).model);
    expect(picks).toEqual(['a', 'b', 'a', 'a', 'b', 'a']);
    const r = await lb.route('route:lb', null, at(null));
    expect([r.model, ...lb.fallbacks(r)]).toEqual(r.model === 'a' ? ['a', 'b', 'c'] : ['b', 'a', 'c']);
  });

  it('serves a stronger tier on an approval route only under an approved exception, and records which', async () => {
    const strict = new Router([routeSpecSchema.parse({ ...spec, id: 'strict', exceptions: 'approval', downgrade: [] })], () => {});
    await expect(strict.route('route:strict/premium', null, at(null))).rejects.toMatchObject({ code: 'exception_reason_required' });
    await expect(strict.route('route:strict/premium', null, at(null, 'long contract'))).rejects.toMatchObject({ code: 'exception_needs_approval' });
    const ok = await strict.route('route:strict/premium', null, at(null, 'long contract', 'exc_1'));
    expect(ok).toMatchObject({ tier: 'premium', exception: 'exc_1: long contract' });
    expect((await strict.route('route:strict', null, at(null))).exception).toBeNull();
  });

  it('passes a model through when neither the call nor the key names a route', async () => {
    expect(await router.route('gpt-x', null, at(99))).toMatchObject({ model: 'gpt-x', route: null, tier: null });
  });

  it('refuses a route whose tier names no served model, and a bad spec, with their paths', () => {
    expect(() => new Router([spec], (m) => { if (m === 'e-model') throw new Error('not served'); })).toThrow('routes[0].tiers.economy: not served');
    const bad = routeSpecSchema.safeParse({ id: 'x', tiers: { a: 'm' }, default_tier: 'b', downgrade: [{ at: 50, to: 'c' }] });
    expect(bad.success).toBe(false);
    expect(bad.error!.issues.map((i) => i.path.join('.'))).toEqual(['default_tier', 'downgrade.0.to']);
  });
});
