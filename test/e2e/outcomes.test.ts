/**
 * Outcomes and unit economics: an application reports, with the key that made the calls, what a
 * call or an agent run produced; the report sets each workflow's cost beside it: per call, per
 * accepted output, per value unit, and value to cost, exactly.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blankLine, type LedgerLine } from '../../src/core/ledger.js';
import { decimalText, NANO, ratioText } from '../../src/core/money.js';
import { ORG_YAML, startTestBursar, type TestBursar } from '../helpers/bursar.js';

let t: TestBursar;
beforeAll(async () => {
  t = await startTestBursar({
    yaml: `${ORG_YAML}
budgets:
  - { id: agents, name: Agents, scope: { agent: researcher }, window: day, limit: { amount: "10.00", currency: USD }, agent_runs: { max_calls: 2 } }
`,
  });
});
afterAll(() => t.close());

const report = (secret: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${t.url}/v1/outcomes`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

describe('outcomes', () => {
  it('are reported per call or run with the key that made them, and set beside cost by workflow', async () => {
    const k = await t.key({ department: 'support', project: 'support-bot' });
    const other = await t.key({ department: 'marketing' });
    const call = async (workflow: string) =>
      (await t.openai(k.secret, { 'x-bursar-workflow': workflow }).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Resolve this ticket.' }], max_tokens: 30 }).withResponse()).response.headers.get('x-request-id')!;
    const replies = [await call('replies'), await call('replies'), await call('replies'), await call('replies')];
    await call('drafts');

    // Right after the call: the line may still be on its way; the report waits for it.
    expect((await report(k.secret, { request_id: replies[0], accepted: true, units: '2', unit: 'resolution', value: { amount: '30', currency: 'USD' } })).status).toBe(201);
    expect((await report(k.secret, { request_id: replies[1], accepted: true })).status).toBe(201);
    expect((await report(k.secret, { request_id: replies[2], accepted: false })).status).toBe(201);
    // A later report replaces the earlier one.
    expect((await report(k.secret, { request_id: replies[2], accepted: true, value: { amount: '10', currency: 'USD' } })).status).toBe(201);
    expect((await report(k.secret, { request_id: replies[3], accepted: false })).status).toBe(201);
    // An agent run's outcome, attributed as its calls are (key and headers).
    expect((await report(k.secret, { run_id: 'run-42', accepted: true }, { 'x-bursar-workflow': 'replies' })).status).toBe(201);

    // Refused, each with its reason.
    const err = async (r: Response) => ((await r.json()) as { error: { code: string; param: string | null } }).error;
    expect(await err(await report(k.secret, { request_id: 'no-such-call', accepted: true }))).toMatchObject({ code: 'not_found', param: 'request_id' });
    expect(await err(await report(other.secret, { request_id: replies[0], accepted: false }))).toMatchObject({ code: 'forbidden' });
    expect(await err(await report(k.secret, { request_id: replies[0], run_id: 'r', accepted: true }))).toMatchObject({ code: 'validation_failed' });

    await t.settled();
    const lines = (await t.lines()).filter((l) => l.dims.workflow === 'replies' && l.source === 'gateway');
    const cost = lines.reduce((a, l) => a + l.costNano, 0n);
    const r = (await t.admin<{ rows: Record<string, unknown>[] }>('GET', '/reports/unit-economics?group_by=workflow')).body;
    const row = r.rows.find((x) => (x.group as { workflow: string }).workflow === 'replies')!;
    // Outcomes: 4 calls and 1 run; accepted: calls 0, 1, 2 and the run. Units: 2 + 1 + 1 + 1.
    expect(row).toMatchObject({ calls: 4, cost: decimalText(cost), outcomes: 5, accepted: 4, acceptance_percent: '80.00', units: '5', value: '40' });
    expect(row.cost_per_call).toBe(decimalText(cost / 4n));
    expect(row.cost_per_accepted).toBe(decimalText(cost / 4n));
    expect(row.cost_per_unit).toBe(decimalText((cost * NANO) / 5_000_000_000n));
    expect(row.value_to_cost).toBe(ratioText(40n * NANO, cost));
    expect(Math.abs(Number(row.value_to_cost) - 40 / (Number(cost) / 1e9))).toBeLessThan(0.006);
    const drafts = r.rows.find((x) => (x.group as { workflow: string }).workflow === 'drafts')!;
    expect(drafts).toMatchObject({ calls: 1, outcomes: 0, accepted: 0, acceptance_percent: null, cost_per_accepted: null, fallback_percent: '0.00', blocked_runs: 0 });
  });

  it('are reported in a header on the next call, which a report that cannot be recorded refuses before anything is spent', async () => {
    const k = await t.key({ department: 'support' });
    const call = async (headers: Record<string, string>) =>
      t.openai(k.secret, { 'x-bursar-workflow': 'triage', ...headers }).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Triage this.' }], max_tokens: 20 }).withResponse();
    const first = (await call({})).response.headers.get('x-request-id')!;
    const second = await call({ 'x-bursar-outcome': `accepted; request_id=${first}; units=3; unit=ticket; value=12.50 USD` });
    expect(second.response.headers.get('x-bursar-outcome-recorded')).toBe(`call:${first}`);
    const third = await call({ 'x-bursar-outcome': `rejected; request_id=${second.response.headers.get('x-request-id')!}` });
    expect(third.response.status).toBe(200);
    // Refused, with what is wrong: nothing reaches the provider or the ledger.
    await t.settled();
    const before = (await t.lines()).length;
    await expect(call({ 'x-bursar-outcome': 'great; request_id=x' })).rejects.toMatchObject({ status: 400, code: 'validation_failed', param: 'x-bursar-outcome' });
    await expect(call({ 'x-bursar-outcome': 'accepted; request_id=no-such-call' })).rejects.toMatchObject({ status: 404, code: 'not_found' });
    await expect(call({ 'x-bursar-outcome': 'accepted; ticket=9' })).rejects.toMatchObject({ code: 'validation_failed' });
    await t.settled();
    expect((await t.lines()).length).toBe(before);
    const row = (await t.admin<{ rows: Record<string, unknown>[] }>('GET', '/reports/unit-economics?group_by=workflow')).body.rows.find((x) => (x.group as { workflow: string }).workflow === 'triage');
    expect(row).toMatchObject({ calls: 3, outcomes: 2, accepted: 1, units: '3', value: '12.5' });
  });

  it('count the agent runs a refusal stopped, and what they had cost by then', async () => {
    const k = await t.key({ department: 'support' });
    const step = (run: string) => t.openai(k.secret, { 'x-bursar-workflow': 'research', 'x-bursar-agent': 'researcher', 'x-bursar-agent-run': run }).chat.completions
      .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Next step.' }], max_tokens: 20 });
    await step('r-1');
    await step('r-1');
    await expect(step('r-1')).rejects.toMatchObject({ code: 'agent_run_limit' });
    await step('r-2');
    await t.settled();
    const runCost = (await t.lines()).filter((l) => l.dims.agent_run === 'r-1').reduce((a, l) => a + l.costNano, 0n);
    const r = (await t.admin<{ rows: Record<string, unknown>[] }>('GET', '/reports/unit-economics?group_by=workflow')).body;
    expect(r.rows.find((x) => (x.group as { workflow: string }).workflow === 'research')).toMatchObject({ calls: 3, blocked_runs: 1, blocked_run_cost: decimalText(runCost) });
  });

  it('count abandoned runs (idle past the idle time, or ended cancelled, with cost and no outcome) and the cache-hit rate', async () => {
    const now = Date.now();
    const MIN = 60_000;
    const lines: LedgerLine[] = [];
    const add = (id: string, run: string | null, ago: number, over: Partial<LedgerLine> = {}) => {
      const b = blankLine(id, now - ago);
      lines.push({ ...b, dims: { ...b.dims, workflow: 'intake', agent_run: run }, costNano: 2_000_000n, orgCostNano: 2_000_000n, ...over });
    };
    add('ab-1', 'idle', 90 * MIN);
    add('ab-2', 'idle', 80 * MIN); // idle for 80 minutes: abandoned
    add('ab-3', 'cut', 5 * MIN, { status: 'cancelled' }); // ended cancelled: abandoned
    add('ab-4', 'busy', 5 * MIN); // still going
    add('ab-5', 'done', 90 * MIN); // has an outcome
    add('ab-6', 'stopped', 90 * MIN);
    add('ab-7', 'stopped', 89 * MIN, { status: 'refused', errorCode: 'agent_loop', costNano: 0n, orgCostNano: 0n }); // blocked, not abandoned
    add('ab-8', null, 3 * MIN, { cacheHit: true, costNano: 0n, orgCostNano: 0n });
    add('ab-9', null, 3 * MIN, { cacheHit: true, costNano: 0n, orgCostNano: 0n });
    await t.b.stores.ledger.append(lines);
    const k = await t.key({ department: 'support' });
    expect((await report(k.secret, { run_id: 'done', accepted: true }, { 'x-bursar-workflow': 'intake' })).status).toBe(201);
    const from = new Date(now - 2 * 60 * MIN).toISOString();
    const row = (await t.admin<{ rows: Record<string, unknown>[] }>('GET', `/reports/unit-economics?group_by=workflow&from=${from}`)).body.rows.find((x) => (x.group as { workflow: string }).workflow === 'intake');
    // 9 lines, one refused: 8 calls served, 2 of them from the cache.
    expect(row).toMatchObject({ calls: 8, cache_hits: 2, cache_hit_percent: '25.00', abandoned_runs: 2, abandoned_run_cost: '0.006', blocked_runs: 1, blocked_run_cost: '0.002' });
    // With a longer idle time, only the cancelled run is abandoned.
    const patient = (await t.admin<{ rows: Record<string, unknown>[] }>('GET', `/reports/unit-economics?group_by=workflow&from=${from}&idle_minutes=120`)).body.rows.find((x) => (x.group as { workflow: string }).workflow === 'intake');
    expect(patient).toMatchObject({ abandoned_runs: 1, abandoned_run_cost: '0.002' });
  });
});
