/**
 * Quarterly envelopes: a department's money split across production, scaling and experiments,
 * its spend counted into each part by budget category, reallocated mid-quarter (audited, the
 * parts still totalling the envelope), and read only by those who may.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ORG_YAML, startTestBursar, type TestBursar } from '../helpers/bursar.js';

const now = new Date();
const QUARTER = `${now.getUTCFullYear()}-Q${Math.floor(now.getUTCMonth() / 3) + 1}`;

const YAML = `${ORG_YAML}
budgets:
  - { id: mkt-lab, scope: { department: marketing, workflow: lab }, window: month, limit: { amount: "10", currency: USD }, category: sandbox }
  - { id: mkt-pilot, scope: { department: marketing, workflow: pilot }, window: month, limit: { amount: "10", currency: USD }, category: pilot }
envelopes:
  - { id: mkt-q, name: Marketing this quarter, department: marketing, quarter: "${QUARTER}", amount: "100.00", split: { production: 60, scaling: 25, experiments: 15 } }
`;

type Money = { amount: string };
type Part = { part: string; given: Money; moved: Money; amount: Money; spent: Money; remaining: Money };
type Envelope = { id: string; quarter: string; amount: Money; parts: Part[]; reallocations: { from: string; to: string; amount: string; by: string }[] };

let t: TestBursar;
let manager: string;
beforeAll(async () => {
  t = await startTestBursar({ yaml: YAML });
  manager = (await t.admin<{ secret: string }>('POST', '/tokens', { label: 'alice', role: 'manager', department: 'marketing' })).body.secret;
});
afterAll(() => t.close());

const part = (e: Envelope, p: string) => e.parts.find((x) => x.part === p)!;
const nano = (m: Money) => BigInt(Math.round(Number(m.amount) * 1e9));

describe('an envelope', () => {
  it('splits its amount across the parts and counts spend into each by budget category', async () => {
    const k = await t.key({ project: 'campaign-ai' });
    for (const wf of ['lab', 'pilot', 'copy']) {
      await t.openai(k.secret, { 'x-bursar-workflow': wf }).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `draft ${wf}` }], max_tokens: 20 });
    }
    await t.settled();
    const e = (await t.admin<Envelope>('GET', '/envelopes/mkt-q')).body;
    expect(e.parts.map((p) => [p.part, p.given.amount])).toEqual([['production', '60'], ['scaling', '25'], ['experiments', '15']]);
    const lines = (await t.lines()).filter((l) => l.dims.department === 'marketing');
    const cost = (cat: string | null) => lines.filter((l) => l.dims.budget_category === cat).reduce((s, l) => s + l.costNano, 0n);
    expect(cost('sandbox')).toBeGreaterThan(0n);
    expect(nano(part(e, 'experiments').spent)).toBe(cost('sandbox'));
    expect(nano(part(e, 'scaling').spent)).toBe(cost('pilot'));
    expect(nano(part(e, 'production').spent)).toBe(cost('production') + cost(null)); // unmatched spend goes to `otherwise`
  });

  it('moves money between parts mid-quarter, audited, the parts still totalling the envelope', async () => {
    const r = await t.admin<Envelope>('POST', '/envelopes/mkt-q/reallocations', { from: 'production', to: 'experiments', amount: '12.50', reason: 'agent trials' }, manager);
    expect(r.status).toBe(201);
    expect(part(r.body, 'production').amount.amount).toBe('47.5');
    expect(part(r.body, 'experiments')).toMatchObject({ moved: { amount: '12.5' }, amount: { amount: '27.5' } });
    expect(r.body.parts.reduce((s, p) => s + nano(p.amount), 0n)).toBe(100_000_000_000n);
    expect(r.body.reallocations).toEqual([expect.objectContaining({ from: 'production', to: 'experiments', amount: '12.50', by: 'alice' })]);
    const audit = (await t.admin<{ data: { action: string; actor: string; details: Record<string, unknown> }[] }>('GET', '/audit?target=envelope:mkt-q')).body.data;
    expect(audit.map((a) => [a.action, a.actor])).toEqual([['envelope.create', 'config'], ['envelope.reallocate', 'alice']]);
    expect(audit[1]!.details).toMatchObject({ from: 'production', to: 'experiments', amount: '12.50', reason: 'agent trials' });

    const tooMuch = await t.admin<{ error: { message: string } }>('POST', '/envelopes/mkt-q/reallocations', { from: 'scaling', to: 'production', amount: '25.00', reason: 'x' });
    expect(tooMuch.status).toBe(400);
    expect(tooMuch.body.error.message).toMatch(/^amount: scaling has \$24\.9999\d+ unspent \(\$25\.00 less \$0\.0000\d+ spent\); move at most that\.$/);
    const same = await t.admin<{ error: { param: string } }>('POST', '/envelopes/mkt-q/reallocations', { from: 'scaling', to: 'scaling', amount: '1', reason: 'x' });
    expect(same.body.error.param).toBe('to');
    const noReason = await t.admin<{ error: { param: string } }>('POST', '/envelopes/mkt-q/reallocations', { from: 'scaling', to: 'production', amount: '1' });
    expect(noReason.body.error.param).toBe('reason');
  });

  it('is read and reallocated only by admins, finance and its department\'s manager', async () => {
    const other = (await t.admin<{ secret: string }>('POST', '/tokens', { label: 'sup-mgr', role: 'manager', department: 'support' })).body.secret;
    const member = (await t.admin<{ secret: string }>('POST', '/tokens', { label: 'al', role: 'member', user: 'alice' })).body.secret;
    const finance = (await t.admin<{ secret: string }>('POST', '/tokens', { label: 'fin', role: 'finance' })).body.secret;
    expect((await t.admin<{ data: unknown[] }>('GET', '/envelopes', undefined, other)).body.data).toEqual([]);
    expect((await t.admin('GET', '/envelopes/mkt-q', undefined, other)).status).toBe(404);
    expect((await t.admin('POST', '/envelopes/mkt-q/reallocations', { from: 'production', to: 'scaling', amount: '1', reason: 'x' }, other)).status).toBe(404);
    expect((await t.admin('GET', '/envelopes', undefined, member)).status).toBe(403);
    expect((await t.admin<{ data: Envelope[] }>('GET', `/envelopes?quarter=${QUARTER}`, undefined, finance)).body.data.map((e) => e.id)).toEqual(['mkt-q']);
    expect((await t.admin('POST', '/envelopes', { id: 'x', department: 'marketing', quarter: QUARTER, amount: '1', split: { production: 100, scaling: 0, experiments: 0 } }, manager)).status).toBe(403);
  });

  it('is validated, and its parts are final once its quarter has ended', async () => {
    const bad = await t.admin<{ error: { param: string; message: string } }>('POST', '/envelopes', { id: 'b', department: 'support', quarter: QUARTER, amount: '10', split: { production: 60, scaling: 25, experiments: 10 } });
    expect(bad.body.error).toMatchObject({ param: 'split', message: 'split: the parts total 95%, not 100%' });
    const fiscal = await t.admin<{ error: { param: string; message: string } }>('POST', '/envelopes', { id: 'b', department: 'support', quarter: 'FY2026-Q1', amount: '10', split: { production: 60, scaling: 25, experiments: 15 } });
    expect(fiscal.body.error).toMatchObject({ param: 'quarter' });
    const envByEnv = await t.admin<{ error: { param: string } }>('POST', '/envelopes', { id: 'b', department: 'support', quarter: QUARTER, amount: '10', split: { production: 60, scaling: 25, experiments: 15 }, count_by: 'environment' });
    expect(envByEnv.body.error.param).toBe('map');
    const old = await t.admin('POST', '/envelopes', { id: 'old', department: 'support', quarter: '2020-Q1', amount: '9.99', split: { production: 33.33, scaling: 33.33, experiments: 33.34 } });
    expect(old.status).toBe(201);
    const e = (await t.admin<Envelope>('GET', '/envelopes/old')).body;
    expect(e.parts.map((p) => p.given.amount)).toEqual(['3.33', '3.33', '3.33']); // whole cents, totalling 9.99
    const late = await t.admin<{ error: { code: string; message: string } }>('POST', '/envelopes/old/reallocations', { from: 'production', to: 'scaling', amount: '1', reason: 'x' });
    expect(late.status).toBe(409);
    expect(late.body.error.message).toBe('Envelope "old" covers 2020-Q1, which has ended; its parts are final.');
  });
});
