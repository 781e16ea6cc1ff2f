/**
 * What budgets do besides refusing: thresholds that notify once per window, require approval
 * (lifted by an approved override) or throttle; soft budgets that run past 100% up to where
 * they refuse; rate limits; and agent-run controls (calls, tool calls, the loop guard).
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ORG_YAML, startTestBursar, type TestBursar } from '../helpers/bursar.js';

const YAML = `${ORG_YAML}
budgets:
  - id: campaign-soft
    name: Campaign (soft)
    scope: { project: campaign-ai }
    window: month
    limit: { amount: "0.0020", currency: USD }
    enforcement: soft
    owner: alice
    thresholds:
      - { at: 50, actions: [notify] }
      - { at: 75, actions: [notify] }
      - { at: 90, actions: [notify, require_approval] }
  - id: support-soft
    name: Support (soft, refuses past 110%)
    scope: { department: support }
    window: month
    limit: { amount: "0.0010", currency: USD }
    enforcement: soft
    thresholds: [{ at: 110, actions: [notify, refuse] }]
  - { id: platform-rpm, name: Platform rate, scope: { department: platform }, window: day, limit: { requests: 1000 }, rate_limit: { rpm: 3 } }
  - id: finance-throttle
    name: Finance (throttled past 1%)
    scope: { department: finance }
    window: month
    limit: { amount: "1.00", currency: USD }
    enforcement: soft
    thresholds: [{ at: 0.0001, actions: [throttle], throttle_rpm: 2 }]
  - id: research-agents
    name: Research agents
    scope: { agent: researcher }
    window: day
    limit: { amount: "10.00", currency: USD }
    agent_runs: { max_calls: 4, max_tool_calls: 2, loop_repeats: 3 }
`;

let t: TestBursar;
beforeAll(async () => {
  t = await startTestBursar({ yaml: YAML });
});
afterAll(() => t.close());

let n = 0;
const dear = (client: OpenAI, content = `question ${n++}`) =>
  client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content }], max_tokens: 40 });

describe('thresholds', () => {
  it('notify once per window, then require approval until an override is approved', async () => {
    const k = await t.key({ project: 'campaign-ai' });
    const client = t.openai(k.secret);
    let stopped: unknown = null;
    for (let i = 0; i < 60 && !stopped; i++) await dear(client).then(() => t.settled(), (e) => (stopped = e));
    expect(stopped).toMatchObject({ status: 429, code: 'approval_required' });
    expect((stopped as Error).message).toMatch(/Budget "Campaign \(soft\)" has used \d+(\.\d+)?% of \$0\.002; past 90% each call needs an approved override/);

    const events = (await t.admin<{ data: { kind: string; details: { threshold: number } }[] }>('GET', '/events?budget=campaign-soft')).body.data;
    const thresholds = events.filter((e) => e.kind === 'threshold').map((e) => e.details.threshold).sort((a, b) => a - b);
    expect(thresholds).toEqual([50, 75, 90]);

    // A manager of marketing asks; alice, the budget's owner, approves; calls resume at once.
    const manager = (await t.admin<{ secret: string }>('POST', '/tokens', { label: 'mkt-mgr', role: 'manager', department: 'marketing' })).body.secret;
    const owner = (await t.admin<{ secret: string }>('POST', '/tokens', { label: 'alice', role: 'member', user: 'alice' })).body.secret;
    const req = await t.admin<{ id: string; state: string }>('POST', '/budgets/campaign-soft/overrides', { amount: '0.0020', reason: 'launch week' }, manager);
    expect(req.status).toBe(201);
    expect(req.body.state).toBe('requested');
    await expect(dear(client)).rejects.toMatchObject({ code: 'approval_required' });
    expect((await t.admin('POST', `/overrides/${req.body.id}/approve`, { note: 'ok' }, manager)).status).toBe(403);
    const approved = await t.admin<{ state: string; decided_by: string }>('POST', `/overrides/${req.body.id}/approve`, { note: 'ok for launch' }, owner);
    expect(approved.body).toMatchObject({ state: 'approved', decided_by: 'alice' });
    await dear(client);
    const status = (await t.admin<{ members: { limit: { amount: string } }[]; overrides: { state: string }[] }>('GET', '/budgets/campaign-soft')).body;
    expect(status.members[0]!.limit.amount).toBe('0.004');
    expect(status.overrides.map((o) => o.state)).toEqual(['approved']);
    const audit = (await t.admin<{ data: { action: string; actor: string }[] }>('GET', '/audit?target=budget:campaign-soft')).body.data;
    expect(audit.map((a) => [a.action, a.actor])).toEqual(expect.arrayContaining([['override.request', 'mkt-mgr'], ['override.approve', 'alice']]));
  });

  it('a soft budget runs past 100% and refuses past the threshold that says so', async () => {
    const k = await t.key({ department: 'support' });
    const client = t.openai(k.secret);
    let stopped: unknown = null;
    for (let i = 0; i < 60 && !stopped; i++) await dear(client).then(() => t.settled(), (e) => (stopped = e));
    expect(stopped).toMatchObject({ status: 429, code: 'budget_exceeded' });
    expect((stopped as Error).message).toMatch(/passed 110%, where it refuses calls/);
    const used = Number((await t.admin<{ members: { used: { amount: string } }[] }>('GET', '/budgets/support-soft')).body.members[0]!.used.amount);
    expect(used).toBeGreaterThan(0.001);
    expect(used).toBeGreaterThanOrEqual(0.0011);
  });

  it('throttles past a threshold, with a retry-after the SDKs honour', async () => {
    const k = await t.key({ department: 'finance' });
    const client = t.openai(k.secret);
    await dear(client);
    await dear(client);
    const err = (await dear(client).catch((e) => e)) as { status: number; code: string; headers: Headers };
    expect(err).toMatchObject({ status: 429, code: 'rate_limited' });
    expect(Number(err.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(err.headers.get('x-should-retry')).toBeNull();
  });
});

describe('rate limits', () => {
  it('allow so many requests a minute', async () => {
    const k = await t.key({ department: 'platform' });
    const client = t.openai(k.secret);
    for (let i = 0; i < 3; i++) await dear(client);
    await expect(dear(client)).rejects.toMatchObject({ status: 429, code: 'rate_limited', message: expect.stringMatching(/Budget "Platform rate" allows no more requests this minute; retry in \d+ s/) });
  });
});

describe('agent runs', () => {
  const tools = [{ type: 'function' as const, function: { name: 'search', parameters: { type: 'object', properties: { query: { type: 'string' } } } } }];

  it('stop a run at its call limit without touching other runs', async () => {
    const k = await t.key({ department: 'marketing' });
    const run = (id: string) => t.openai(k.secret, { 'x-bursar-agent': 'researcher', 'x-bursar-agent-run': id });
    for (let i = 0; i < 4; i++) await dear(run('run-a'));
    await expect(dear(run('run-a'))).rejects.toMatchObject({ status: 429, code: 'agent_run_limit', message: expect.stringMatching(/Agent run "run-a" is stopped by budget "Research agents": it has made 4 calls/) });
    await dear(run('run-b'));
  });

  it('stop a run that repeats the same request (loop guard)', async () => {
    const k = await t.key({ department: 'marketing' });
    const client = t.openai(k.secret, { 'x-bursar-agent': 'researcher', 'x-bursar-agent-run': 'run-loop' });
    await dear(client, 'same question');
    await dear(client, 'same question');
    await expect(dear(client, 'same question')).rejects.toMatchObject({ code: 'agent_loop', message: expect.stringMatching(/same request 3 times/) });
  });

  it('stop a run at its tool-call limit', async () => {
    const k = await t.key({ department: 'marketing' });
    const client = t.openai(k.secret, { 'x-bursar-agent': 'researcher', 'x-bursar-agent-run': 'run-tools' });
    const withTools = (i: number) => client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `find ${i}` }], tools });
    const first = await withTools(1);
    expect(first.choices[0]?.message.tool_calls).toHaveLength(1);
    await withTools(2);
    await expect(withTools(3)).rejects.toMatchObject({ code: 'agent_run_limit', message: expect.stringMatching(/used 2 tool calls/) });
    const lines = (await t.lines()).filter((l) => l.dims.agent_run === 'run-tools' && l.status === 'ok');
    expect(lines.map((l) => l.toolCalls)).toEqual([1, 1]);
  });
});
