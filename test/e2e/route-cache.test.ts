/**
 * A route's response cache with the official SDKs: the same request again within the time to
 * live is answered from the cache (no provider call, no cost, its avoided cost recorded), whole
 * or streamed; a different request, key, department or data class is not; an expired entry is
 * not; and the savings report counts the hits.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decimalText } from '../../src/core/money.js';
import { ORG_YAML, startTestBursar, type TestBursar } from '../helpers/bursar.js';

const YAML = `${ORG_YAML}
routes:
  - id: faq
    tiers: { standard: gpt-4o-mini }
    default_tier: standard
    cache: { ttl_seconds: 600 }
  - id: faq-team
    tiers: { standard: gpt-4o }
    default_tier: standard
    cache: { ttl_seconds: 600, share: department }
  - id: brief
    tiers: { standard: gpt-4o-mini }
    default_tier: standard
    cache: { ttl_seconds: 1 }
  - id: claude-faq
    tiers: { standard: anthropic/claude-haiku-4-5 }
    default_tier: standard
    cache: { ttl_seconds: 600 }
  - id: uncached
    tiers: { standard: gpt-4o-mini }
    default_tier: standard
budgets:
  - { id: platform-month, name: Platform, scope: { department: platform }, window: month, limit: { amount: "100", currency: USD } }
`;

let t: TestBursar;
beforeAll(async () => {
  t = await startTestBursar({ yaml: YAML });
});
afterAll(() => t.close());

const question = (model: string, extra: Record<string, unknown> = {}) => ({ model, messages: [{ role: 'user' as const, content: 'What are your opening hours?' }], max_tokens: 40, ...extra });

describe('the response cache', () => {
  it('answers the same request again from the cache, at no cost, recording what it avoided', async () => {
    const k = await t.key({ department: 'support' });
    const first = await t.openai(k.secret).chat.completions.create(question('route:faq')).withResponse();
    expect(first.response.headers.get('x-bursar-cache')).toBe('miss');
    const sent = t.sim.requests.length;
    const again = await t.openai(k.secret).chat.completions.create(question('route:faq')).withResponse();
    expect(t.sim.requests.length).toBe(sent);
    expect(again.response.headers.get('x-bursar-cache')).toBe('hit');
    expect(again.response.headers.get('x-bursar-cost')).toBe('0');
    expect(again.data).toEqual(first.data);

    const made = await t.line(first.response.headers.get('x-request-id')!);
    const hit = await t.line(again.response.headers.get('x-request-id')!);
    expect(made!.orgCostNano).toBeGreaterThan(0n);
    expect(hit).toMatchObject({ cacheHit: true, costNano: 0n, orgCostNano: 0n, avoidedOrgNano: made!.orgCostNano, status: 'ok' });
    expect(hit!.tokens).toEqual({ input: 0, cached_input: 0, cache_write: 0, output: 0, reasoning: 0 });
    expect(hit!.dims).toMatchObject({ route: 'faq', tier: 'standard', model: 'gpt-4o-mini', key: k.id });
    expect(again.response.headers.get('x-bursar-avoided-cost')).toBe(decimalText(made!.orgCostNano));

    // The same request in other words of JSON (key order, spacing, the model spelled as the tier) is the same request.
    const raw = await fetch(`${t.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${k.secret}`, 'content-type': 'application/json' },
      body: `{ "max_tokens": 40,  "messages": [{"content": "What are your opening hours?", "role": "user"}], "model": "route:faq/standard" }`,
    });
    expect(raw.headers.get('x-bursar-cache')).toBe('hit');
    expect(await raw.json()).toEqual(first.data);

    // Anything else that differs is another request.
    await t.openai(k.secret).chat.completions.create(question('route:faq', { temperature: 0.2 }));
    expect(t.sim.requests.length).toBe(sent + 1);
    // x-bursar-cache: refresh asks the provider again, and keeps the new answer.
    const fresh = await t.openai(k.secret, { 'x-bursar-cache': 'refresh' }).chat.completions.create(question('route:faq')).withResponse();
    expect(fresh.response.headers.get('x-bursar-cache')).toBe('miss');
    expect(t.sim.requests.length).toBe(sent + 2);
    // A route without a cache never answers from one.
    await t.openai(k.secret).chat.completions.create(question('route:uncached'));
    const unc = await t.openai(k.secret).chat.completions.create(question('route:uncached')).withResponse();
    expect(unc.response.headers.get('x-bursar-cache')).toBeNull();
    expect(t.sim.requests.length).toBe(sent + 4);
  });

  it('keeps an answer given under the default output cap of a hard budget (the same for every such call)', async () => {
    const k = await t.key({ department: 'platform' });
    const ask = () => t.openai(k.secret).chat.completions.create({ model: 'route:faq', messages: [{ role: 'user', content: 'Where do I park?' }] }).withResponse();
    const first = await ask();
    expect(first.response.headers.get('x-bursar-max-tokens-reason')).toBe('default');
    expect((await ask()).response.headers.get('x-bursar-cache')).toBe('hit');
  });

  it('never shares an answer across keys (by default), departments or data classes', async () => {
    const a = await t.key({ department: 'support' });
    const b = await t.key({ department: 'support' });
    const m = await t.key({ department: 'marketing' });
    const cache = async (secret: string, model: string, headers: Record<string, string> = {}) =>
      (await t.openai(secret, headers).chat.completions.create(question(model)).withResponse()).response.headers.get('x-bursar-cache');
    expect(await cache(a.secret, 'route:faq', { 'x-bursar-workflow': 'share-test' })).toBe('miss');
    expect(await cache(a.secret, 'route:faq', { 'x-bursar-workflow': 'share-test' })).toBe('hit');
    expect(await cache(b.secret, 'route:faq', { 'x-bursar-workflow': 'share-test' })).toBe('miss');
    // Shared by department: the department's keys share; another department does not.
    expect(await cache(a.secret, 'route:faq-team')).toBe('miss');
    expect(await cache(b.secret, 'route:faq-team')).toBe('hit');
    expect(await cache(m.secret, 'route:faq-team')).toBe('miss');
    // Another data class is another request, even for the same key.
    expect(await cache(b.secret, 'route:faq-team', { 'x-bursar-data-class': 'confidential' })).toBe('miss');
    expect(await cache(b.secret, 'route:faq-team', { 'x-bursar-data-class': 'confidential' })).toBe('hit');
  });

  it('replays a stream, and answers the Anthropic dialect, from the cache', async () => {
    const k = await t.key({ department: 'support' });
    const text = async () => {
      const stream = await t.openai(k.secret).chat.completions
        .create({ ...question('route:faq'), stream: true, stream_options: { include_usage: true } }).withResponse();
      let out = '';
      let usage: unknown = null;
      for await (const chunk of stream.data) {
        out += chunk.choices[0]?.delta?.content ?? '';
        if (chunk.usage) usage = chunk.usage;
      }
      return { out, usage, cache: stream.response.headers.get('x-bursar-cache'), id: stream.response.headers.get('x-request-id')! };
    };
    const first = await text();
    const sent = t.sim.requests.length;
    const again = await text();
    expect(t.sim.requests.length).toBe(sent);
    expect(again).toMatchObject({ out: first.out, usage: first.usage, cache: 'hit' });
    expect(first.out.length).toBeGreaterThan(0);
    expect(await t.line(again.id)).toMatchObject({ cacheHit: true, stream: true, costNano: 0n });

    const ask = () => t.anthropic(k.secret).messages.create({ model: 'route:claude-faq', max_tokens: 40, messages: [{ role: 'user', content: 'Where is the office?' }] }).withResponse();
    const a1 = await ask();
    const a2 = await ask();
    expect(a2.response.headers.get('x-bursar-cache')).toBe('hit');
    expect(a2.data).toEqual(a1.data);
    expect(t.sim.requests.length).toBe(sent + 1);
  });

  it('forgets an answer after its time to live, and the savings report counts hits and what they avoided', async () => {
    const k = await t.key({ department: 'finance' });
    const from = new Date().toISOString();
    const ask = async () => (await t.openai(k.secret).chat.completions.create(question('route:brief')).withResponse()).response.headers.get('x-bursar-cache');
    expect(await ask()).toBe('miss');
    expect(await ask()).toBe('hit');
    await new Promise((r) => setTimeout(r, 1100));
    expect(await ask()).toBe('miss');
    await t.settled();
    const report = (await t.admin<{ rows: { group: Record<string, string | null>; requests: number; cost: string; cache_hits: number; cache_avoided: string; saved: string }[] }>(
      'GET', `/reports/savings?group_by=route&from=${encodeURIComponent(from)}`,
    )).body;
    const brief = report.rows.find((r) => r.group.route === 'brief')!;
    const lines = (await t.lines()).filter((l) => l.dims.route === 'brief' && l.dims.key === k.id);
    const made = lines.filter((l) => !l.cacheHit).reduce((s, l) => s + l.orgCostNano, 0n);
    const avoided = lines.filter((l) => l.cacheHit).reduce((s, l) => s + (l.avoidedOrgNano ?? 0n), 0n);
    expect(brief).toMatchObject({ requests: 3, cache_hits: 1 });
    expect(avoided).toBeGreaterThan(0n);
    expect(brief.cache_avoided).toBe(decimalText(avoided));
    expect(brief.cost).toBe(decimalText(made));
  });
});
