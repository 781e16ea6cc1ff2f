/**
 * A contingency reserve on a budget: the share held back lowers the limit admission uses until
 * an approved release frees it (whole or in part), through the same approval lifecycle as
 * overrides; refusals say so, the status shows it, the audit log keeps each step.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callUntilRefused, ORG_YAML, startTestBursar, type TestBursar } from '../helpers/bursar.js';
import { chargePairs } from '../helpers/counters.js';

const YAML = `${ORG_YAML}
budgets:
  - { id: platform-monthly, name: Platform monthly, scope: { department: platform }, window: month, limit: { amount: "0.0040", currency: USD }, reserve: "50%", owner: carol }
  - { id: support-monthly, scope: { department: support }, window: month, limit: { amount: "1.00", currency: USD } }
`;

let t: TestBursar;
let dave: string;
let carol: string;
beforeAll(async () => {
  t = await startTestBursar({ yaml: YAML });
  dave = (await t.admin<{ secret: string }>('POST', '/tokens', { label: 'dave', role: 'member', user: 'dave' })).body.secret;
  carol = (await t.admin<{ secret: string }>('POST', '/tokens', { label: 'carol', role: 'member', user: 'carol' })).body.secret;
});
afterAll(() => t.close());

// gpt-4o: $2.50 input and $10 output per million tokens; 200 output tokens is about $0.002 at worst.
const ask = (secret: string) =>
  t.openai(secret).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Summarise the incident.' }], max_tokens: 200 });

type Money = { amount: string };
type Status = { members: { used: Money; limit: Money }[]; reserve: { share: string; amount: Money; members: { released: Money; held: Money }[] }; reserve_releases: { id: string; state: string }[] };
const status = async () => (await t.admin<Status>('GET', '/budgets/platform-monthly')).body;

const spendUntilRefused = (secret: string) => callUntilRefused(() => ask(secret));

describe('a contingency reserve', () => {
  it('is held back from the limit: a call that would need it is refused, and admitted once a release is approved', async () => {
    const before = await status();
    expect(before.reserve).toMatchObject({ share: '50%', amount: { amount: '0.002' }, members: [{ released: { amount: '0' }, held: { amount: '0.002' } }] });
    expect(before.members[0]!.limit.amount).toBe('0.002');

    const k = await t.key({ project: 'ai-platform' });
    const refusal = await spendUntilRefused(k.secret);
    expect(refusal).toMatchObject({ status: 429, code: 'budget_exceeded' });
    expect(refusal.message).toContain('$0.002 more is held in its contingency reserve: bursar reserves release platform-monthly');
    expect(refusal.error.details).toMatchObject({ limit: '$0.002', reserve_held: '$0.002' });
    await t.settled();
    const used = BigInt(Math.round(Number((await status()).members[0]!.used.amount) * 1e9));
    expect(used).toBeLessThanOrEqual(2_000_000n); // the held reserve was never spent

    // Dave, who the budget covers, asks; he cannot approve it himself; carol, its owner, does.
    const asked = await t.admin<{ id: string; state: string; amount: string }>('POST', '/budgets/platform-monthly/reserve-releases', { reason: 'incident response' }, dave);
    expect(asked.status).toBe(201);
    expect(asked.body).toMatchObject({ state: 'requested', amount: '0.002' });
    await expect(ask(k.secret)).rejects.toMatchObject({ code: 'budget_exceeded' }); // requested is not released
    const self = await t.admin<{ error: { code: string; message: string } }>('POST', `/reserve-releases/${asked.body.id}/approve`, {}, dave);
    expect(self.status).toBe(403);
    expect(self.body.error.message).toContain('the owner of budget "platform-monthly" (carol), finance or an admin');
    expect((await t.admin<{ state: string }>('POST', `/reserve-releases/${asked.body.id}/approve`, { note: 'ok' }, carol)).body.state).toBe('approved');

    await ask(k.secret); // the call the reserve refused goes through now
    const after = await status();
    expect(after.members[0]!.limit.amount).toBe('0.004');
    expect(after.reserve.members[0]).toMatchObject({ released: { amount: '0.002' }, held: { amount: '0' } });
    expect(after.reserve_releases).toEqual([expect.objectContaining({ id: asked.body.id, state: 'approved' })]);

    // The released limit is still a hard cap: spending on stops at it.
    await spendUntilRefused(k.secret);
    await t.settled();
    const charged = (await t.lines()).flatMap((l) => chargePairs(l.budgetCharges)).filter((c) => c.key.startsWith('platform-monthly|')).reduce((s, c) => s + c.nano, 0n);
    expect(charged).toBeGreaterThan(used);
    expect(charged).toBeLessThanOrEqual(4_000_000n);

    const audit = (await t.admin<{ data: { action: string; actor: string; details: { reserve_release?: string } }[] }>('GET', '/audit?target=budget:platform-monthly')).body.data;
    expect(audit.filter((a) => a.details.reserve_release === asked.body.id).map((a) => [a.action, a.actor])).toEqual([['reserve_release.request', 'dave'], ['reserve_release.approve', 'carol']]);
  });

  it('releases in part, never more than is held, and only on budgets that have one', async () => {
    const over = await t.admin<{ error: { code: string; message: string } }>('POST', '/budgets/platform-monthly/reserve-releases', { reason: 'more', amount: '0.001' });
    expect(over.status).toBe(409); // the first test released it all
    expect(over.body.error.message).toMatch(/released its whole reserve \(\$0\.002\)/);
    const none = await t.admin<{ error: { code: string; message: string } }>('POST', '/budgets/support-monthly/reserve-releases', { reason: 'x' });
    expect(none.status).toBe(400);
    expect(none.body.error.message).toContain('has no contingency reserve');
    const hidden = await t.admin('POST', '/budgets/support-monthly/reserve-releases', { reason: 'x' }, dave);
    expect(hidden.status).toBe(404); // dave cannot see support's budget
    expect((await t.admin<{ data: unknown[] }>('GET', '/reserve-releases', undefined, dave)).body.data).toHaveLength(1);
  });

  it('is validated: a share below 100% of a money limit', async () => {
    const bad = await t.admin<{ error: { param: string; message: string } }>('POST', '/budgets', { id: 'x', window: 'month', limit: { requests: 5 }, reserve: '25%' });
    expect(bad.body.error).toMatchObject({ param: 'reserve', message: 'reserve: needs a money limit to hold a share of' });
    const pct = await t.admin<{ error: { param: string } }>('POST', '/budgets', { id: 'y', window: 'month', limit: { amount: '1', currency: 'USD' }, reserve: '100%' });
    expect(pct.body.error.param).toBe('reserve');
    const partial = await t.admin('POST', '/budgets', { id: 'z', scope: { department: 'marketing' }, window: 'month', limit: { amount: '10', currency: 'USD' }, reserve: '25%' });
    expect(partial.status).toBe(201);
    const r = await t.admin<{ id: string; amount: string }>('POST', '/budgets/z/reserve-releases', { reason: 'launch', amount: '1.5' });
    expect(r.body.amount).toBe('1.5');
    const tooMuch = await t.admin<{ error: { message: string } }>('POST', '/budgets/z/reserve-releases', { reason: 'launch', amount: '3' });
    expect(tooMuch.body.error.message).toBe('amount: $3.00 is more than the $2.50 of budget "z" still held in reserve.');
    await t.admin('POST', `/reserve-releases/${r.body.id}/approve`, {});
    const s = (await t.admin<Status>('GET', '/budgets/z')).body;
    expect(s.members[0]!.limit.amount).toBe('9'); // 10 less the 1 still held
    expect(s.reserve.members[0]!.held.amount).toBe('1');
  });
});
