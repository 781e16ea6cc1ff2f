/**
 * Concentration and unused subscriptions: who makes most of the spend and with what habits; and
 * imported seats that no one used through the gateway.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decimalText, percentText } from '../../src/core/money.js';
import { ORG_YAML, startTestBursar, type TestBursar } from '../helpers/bursar.js';

let t: TestBursar;
beforeAll(async () => {
  t = await startTestBursar({ yaml: `${ORG_YAML}\nroutes:\n  - { id: writing, tiers: { premium: gpt-4o, standard: gpt-4o-mini }, default_tier: premium }\n` });
});
afterAll(() => t.close());

describe('insight', () => {
  it('shows the top spenders\' share of the spend and their habits, and the seats no one used', async () => {
    const alice = await t.key({ department: 'marketing', user: 'alice' });
    const bob = await t.key({ department: 'support', user: 'bob' });
    const dave = await t.key({ department: 'platform', user: 'dave' });
    const long = 'Summarise this report. '.repeat(200);
    for (let i = 0; i < 4; i++) await t.openai(alice.secret).chat.completions.create({ model: 'route:writing', messages: [{ role: 'user', content: long }], max_tokens: 40 });
    await t.openai(bob.secret).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 10 });
    await t.openai(dave.secret).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 10 });
    const day = new Date().toISOString().slice(0, 10);
    const csv = `date,kind,description,quantity,unit,amount,currency,department,user\n${day},seat,Copilot,1,seat,19,USD,,bob\n${day},seat,Copilot,1,seat,19,USD,,carol\n${day},seat,ChatGPT Team,5,seat,150,USD,support,\n`;
    expect((await fetch(`${t.url}/admin/v1/imports?format=csv`, { method: 'POST', headers: { authorization: `Bearer ${t.adminToken}` }, body: csv })).status).toBe(201);
    await t.settled();

    const lines = (await t.lines()).filter((l) => l.source === 'gateway');
    const cost = (u: string) => lines.filter((l) => l.dims.user === u).reduce((a, l) => a + l.costNano, 0n);
    const total = cost('alice') + cost('bob') + cost('dave');
    const [rep] = (await t.admin<{ data: { members: number; top_count: number; top_share_percent: string; total: string; top: { name: string; cost: string; calls: number; avg_input_tokens: number; premium_share_percent: string }[] }[] }>('GET', `/reports/concentration?by=user&top_percent=5&from=${day}`)).body.data;
    expect(rep).toMatchObject({ members: 3, top_count: 1, total: decimalText(total) });
    expect(rep!.top[0]).toMatchObject({ name: 'alice', cost: decimalText(cost('alice')), calls: 4, premium_share_percent: '100.00' });
    expect(rep!.top[0]!.avg_input_tokens).toBeGreaterThan(500);
    expect(rep!.top_share_percent).toBe(percentText(cost('alice'), total));

    const unused = (await t.admin<{ data: { user: string | null; department: string | null; seats: string; unused: string; unused_cost: string }[] }>('GET', `/reports/unused-seats?from=${day}`)).body.data;
    // Bob used his seat; Carol made no call; support's 5 team seats served one active user (bob).
    expect(unused).toEqual(expect.arrayContaining([
      expect.objectContaining({ user: 'carol', unused: '1', unused_cost: '19' }),
      expect.objectContaining({ department: 'support', user: null, seats: '5', unused: '4', unused_cost: '120' }),
    ]));
    expect(unused.some((u) => u.user === 'bob')).toBe(false);
  });
});
