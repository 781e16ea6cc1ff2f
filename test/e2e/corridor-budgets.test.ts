/**
 * A consumption corridor enforced as a budget: its money limit is a share of a business metric
 * fed through the API for the month. Nothing is allowed until the metric is fed; then the share
 * is a hard cap like any other, and it moves when the metric does.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callUntilRefused, ORG_YAML, startTestBursar, type TestBursar } from '../helpers/bursar.js';
import { chargePairs } from '../helpers/counters.js';

const YAML = `${ORG_YAML}
budgets:
  - { id: mkt-corridor, name: Marketing corridor, scope: { department: marketing }, window: month, limit: { share_of: { metric: revenue, percent: "4" }, currency: USD } }
`;
const MONTH = new Date().toISOString().slice(0, 7);

let t: TestBursar;
beforeAll(async () => {
  t = await startTestBursar({ yaml: YAML });
});
afterAll(() => t.close());

const ask = (secret: string) => t.openai(secret).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Write a tagline.' }], max_tokens: 100 });
const feed = (value: string) => t.admin('POST', '/allocations/metrics', { name: 'revenue', period: MONTH, values: { marketing: value } });
type Status = { members: { limit: { amount: string } }[]; share_of: { metric: string; percent: string; fed: boolean } };

const spendUntilRefused = (secret: string) => callUntilRefused(() => ask(secret));

describe('a budget that is a share of a business metric', () => {
  it('allows nothing until the metric is fed, then holds the share as a hard cap that follows the metric', async () => {
    const k = await t.key({ project: 'campaign-ai' });
    const unfed = await ask(k.secret).catch((e: unknown) => e);
    expect(unfed).toMatchObject({ status: 429, code: 'budget_exceeded' });
    expect((unfed as Error).message).toBe(`429 Budget "Marketing corridor" is 4% of the metric "revenue" of marketing, and none is fed for ${MONTH} yet, so it allows nothing. Feed it: bursar allocations metric revenue ${MONTH} marketing=<value>.`);
    expect((await t.admin<Status>('GET', '/budgets/mkt-corridor')).body.share_of).toEqual({ metric: 'revenue', percent: '4', departments: ['marketing'], fed: false });

    expect((await feed('0.10')).status).toBe(201); // 4% of $0.10: $0.004
    const fed = (await t.admin<Status>('GET', '/budgets/mkt-corridor')).body;
    expect(fed.members[0]!.limit.amount).toBe('0.004');
    expect(fed.share_of.fed).toBe(true);
    const refusal = await spendUntilRefused(k.secret);
    expect(refusal).toMatchObject({ code: 'budget_exceeded' });
    expect(refusal.message).toMatch(/^429 Budget "Marketing corridor" cannot pay for this call \(\$0\.\d+ of \$0\.004 used/);
    await t.settled();
    const charged = () => t.lines().then((ls) => ls.flatMap((l) => chargePairs(l.budgetCharges)).filter((c) => c.key.startsWith('mkt-corridor|')).reduce((s, c) => s + c.nano, 0n));
    const first = await charged();
    expect(first).toBeGreaterThan(0n);
    expect(first).toBeLessThanOrEqual(4_000_000n);

    await feed('0.20'); // the metric grew: so does the ceiling
    await ask(k.secret);
    await spendUntilRefused(k.secret);
    await t.settled();
    const second = await charged();
    expect(second).toBeGreaterThan(first);
    expect(second).toBeLessThanOrEqual(8_000_000n);
  });

  it('is validated: a month window, named departments, and no fixed amount beside it', async () => {
    const err = async (spec: Record<string, unknown>) => (await t.admin<{ error: { param: string; message: string } }>('POST', '/budgets', { id: 'c', scope: { department: 'support' }, window: 'month', limit: { share_of: { metric: 'revenue', percent: '2' } }, ...spec })).body.error;
    expect(await err({ window: 'week' })).toMatchObject({ param: 'window', message: 'window: a share of a metric needs window: month (metrics are fed per month)' });
    expect(await err({ scope: { team: 'tier1' } })).toMatchObject({ param: 'scope.department' });
    expect(await err({ limit: { amount: '5', currency: 'USD', share_of: { metric: 'revenue', percent: '2' } } })).toMatchObject({ param: 'limit.share_of' });
  });
});
