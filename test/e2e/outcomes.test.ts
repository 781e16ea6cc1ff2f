/**
 * Outcomes and unit economics: an application reports, with the key that made the calls, what a
 * call or an agent run produced; the report sets each workflow's cost beside it: per call, per
 * accepted output, per value unit, and value to cost, exactly.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
});
