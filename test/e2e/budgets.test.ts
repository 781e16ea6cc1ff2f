/**
 * Budgets as callers meet them: a refusal in their SDK's shape naming the budget, its amounts in
 * its currency, when it resets and how to ask for more; the output cap Bursar sets instead of
 * refusing; FX-converted counters and ledger lines; token and request limits; per-member limits.
 */
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ORG_YAML, startTestBursar, type TestBursar } from '../helpers/bursar.js';
import { chargePairs } from '../helpers/counters.js';

const YAML = `${ORG_YAML.replace('organisation: { name: Acme, currency: USD }', 'organisation: { name: Acme, currency: GBP, timezone: Europe/London }')
  .replace('users:\n', 'users:\n  - { id: eve, department: marketing }\n  - { id: lena, department: legal }\n')
  .replace('departments:\n', 'departments:\n  - { id: legal, cost_centre: LEGL }\n')}
fx:
  - { from: USD, to: GBP, rate: "0.80", effective_from: "2024-01-01" }
  - { from: USD, to: EUR, rate: "0.90", effective_from: "2024-01-01" }
budgets:
  - { id: support-monthly, name: Support monthly, scope: { department: support }, window: month, limit: { amount: "0.0030", currency: GBP }, owner: bob }
  - { id: finance-calls, name: Finance calls, scope: { department: finance }, window: day, limit: { requests: 3 } }
  - { id: platform-tokens, name: Platform tokens, scope: { department: platform }, window: day, limit: { tokens: 600 } }
  - id: marketing-per-user
    name: Marketing per person
    scope: { department: marketing, user_group: { not: [power-users] } }
    per: user
    window: week
    limit: { amount: "0.0005", currency: EUR }
`;

let t: TestBursar;
beforeAll(async () => {
  t = await startTestBursar({ yaml: YAML });
});
afterAll(() => t.close());

const ask = (secret: string, extra: Record<string, unknown> = {}) =>
  t.openai(secret).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Draft a reply about a late parcel.' }], ...extra } as never).withResponse();
// gpt-4o: $2.50 input and $10 output per million tokens: a few calls reach a small cap.
const askDear = (secret: string, maxTokens: number) =>
  t.openai(secret).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Draft a reply about a late parcel.' }], max_tokens: maxTokens }).withResponse();

describe('a hard money budget', () => {
  it('sets an output cap when the client sets none, and says so', async () => {
    const k = await t.key({ project: 'support-bot' });
    const { response } = await ask(k.secret);
    expect(response.headers.get('x-bursar-max-tokens')).toMatch(/^\d+$/);
    expect(['default', 'budget:support-monthly']).toContain(response.headers.get('x-bursar-max-tokens-reason'));
    expect(t.sim.requests.at(-1)!.body.max_completion_tokens).toBe(Number(response.headers.get('x-bursar-max-tokens')));
  });

  it('lowers a cap the budget cannot afford, then refuses in the caller\'s dialect once it cannot pay for a minimal answer', async () => {
    const k = await t.key({ project: 'support-bot' });
    let lowered = false;
    let refusal: unknown = null;
    for (let i = 0; i < 50 && !refusal; i++) {
      try {
        const { response } = await askDear(k.secret, 2000);
        if (response.headers.get('x-bursar-max-tokens-reason') === 'budget:support-monthly') {
          lowered = true;
          expect(Number(response.headers.get('x-bursar-max-tokens'))).toBeLessThan(2000);
          expect(t.sim.requests.at(-1)!.body.max_tokens).toBe(Number(response.headers.get('x-bursar-max-tokens')));
        }
      } catch (e) {
        refusal = e;
      }
    }
    expect(lowered).toBe(true);
    expect(refusal).toMatchObject({ status: 429, code: 'budget_exceeded' });
    const err = refusal as { message: string; headers: Headers; error: { details: Record<string, unknown> } };
    expect(err.headers.get('x-should-retry')).toBe('false');
    expect(err.message).toMatch(/Budget "Support monthly" cannot pay for this call \(£0\.\d+ of £0\.003 used/);
    expect(err.message).toContain('bursar overrides request support-monthly');
    expect(err.error.details).toMatchObject({ budget: 'support-monthly', budget_name: 'Support monthly', limit: '£0.003', owner: 'bob' });
    expect(Date.parse(String(err.error.details.resets_at))).toBeGreaterThan(Date.now());

    // The Anthropic SDK gets the same refusal in its own shape.
    const a = t.anthropic(k.secret).messages.create({ model: 'claude-haiku-4-5', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] });
    await expect(a).rejects.toBeInstanceOf(Anthropic.RateLimitError);
    await expect(a).rejects.toMatchObject({ error: { type: 'error', error: { type: 'rate_limit_error', code: 'budget_exceeded', details: { budget: 'support-monthly' } } } });

    // The counter and the ledger agree, in the budget's currency, and never pass the limit.
    await t.settled();
    const status = (await t.admin<{ members: { used: { amount: string }; limit: { amount: string } }[] }>('GET', '/budgets/support-monthly')).body.members[0]!;
    expect(Number(status.used.amount)).toBeLessThanOrEqual(0.003);
    const charged = (await t.lines()).flatMap((l) => chargePairs(l.budgetCharges)).filter((c) => c.key.startsWith('support-monthly|')).reduce((s, c) => s + c.nano, 0n);
    expect(charged).toBe(BigInt(Math.round(Number(status.used.amount) * 1e9)));
  });

  it('charges budgets in their currency and keeps the cost in the reporting currency on the line', async () => {
    const k = await t.key({ department: 'legal' });
    const { response } = await ask(k.secret, { max_tokens: 10 });
    const line = await t.line(response.headers.get('x-request-id')!);
    expect(line!.currency).toBe('USD');
    expect(line!.orgCurrency).toBe('GBP');
    expect(line!.fxRate).toBe(800_000_000n);
    expect(line!.orgCostNano).toBe((line!.costNano * 8n + 5n) / 10n);
  });
});

describe('token, request and per-member limits', () => {
  it('counts requests', async () => {
    const k = await t.key({ department: 'finance' });
    for (let i = 0; i < 3; i++) await ask(k.secret, { max_tokens: 5 });
    // Refused at once, while the three lines may still be on their way to the ledger...
    await expect(ask(k.secret, { max_tokens: 5 })).rejects.toMatchObject({ status: 429, code: 'budget_exceeded', message: expect.stringMatching(/of 3 requests used/) });
    // ...and once they are in it.
    await t.settled();
    const settled = await ask(k.secret, { max_tokens: 5 }).catch((e: Error) => e);
    expect(settled).toMatchObject({ status: 429, code: 'budget_exceeded', message: expect.stringMatching(/\(3 of 3 requests used, /) });
    expect((settled as Error).message).not.toContain('held by');
  });

  it('counts tokens, capping output to what is left', async () => {
    const k = await t.key({ department: 'platform' });
    const first = await ask(k.secret, { max_tokens: 50 });
    expect(first.response.headers.get('x-bursar-max-tokens')).toBeNull();
    let refused = false;
    for (let i = 0; i < 30 && !refused; i++) {
      try {
        await ask(k.secret, { max_tokens: 50 });
      } catch (e) {
        expect(e).toMatchObject({ code: 'budget_exceeded', message: expect.stringMatching(/of 600 tokens used/) });
        refused = true;
      }
    }
    expect(refused).toBe(true);
    await t.settled();
    const s = (await t.admin<{ members: { tokens: { used: number; limit: number } }[] }>('GET', '/budgets/platform-tokens')).body.members[0]!;
    expect(s.tokens.used).toBeLessThanOrEqual(600);
  });

  it('gives each member their own limit, and leaves out who the scope excludes', async () => {
    const aliceKey = await t.key({ department: 'marketing', user: 'alice' }); // a power user: excluded
    const platform = await t.key({ project: 'ai-platform', act_for: { users: ['*'] } });
    // Any marketing user but alice gets €0.0005 a week; the platform key acts for the user.
    let refusedFor: string | null = null;
    for (let i = 0; i < 100 && !refusedFor; i++) {
      try {
        await t.openai(platform.secret, { 'x-bursar-user': 'eve' }).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }], max_tokens: 20 });
      } catch (e) {
        refusedFor = ((e as { error: { details: { member?: string } } }).error.details.member) ?? 'none';
      }
    }
    expect(refusedFor).toBe('eve');
    // alice is a power user: not covered, so not stopped.
    for (let i = 0; i < 5; i++) await ask(aliceKey.secret, { max_tokens: 20 });
    await t.settled();
    const status = (await t.admin<{ per: string; members: { member: string; used: { formatted: string } }[] }>('GET', '/budgets/marketing-per-user')).body;
    expect(status.per).toBe('user');
    expect(status.members.map((m) => m.member)).toEqual(['eve']);
    expect(status.members[0]!.used.formatted).toMatch(/^€0\.000\d+/);
  });
});
