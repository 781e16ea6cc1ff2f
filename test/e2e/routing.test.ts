/**
 * Routing with the official SDKs: a route named as the model (its default tier, or a tier), a
 * key's default route, the route's output cap, the downgrade ladder at a budget threshold, and
 * clear refusals (unknown route or tier, an Anthropic tier for the responses endpoint). The ledger records route,
 * tier and the model asked for, and the usage report groups by them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ORG_YAML, startTestBursar, type TestBursar } from '../helpers/bursar.js';
import { CLI } from '../helpers/process.js';

const run = promisify(execFile);

const YAML = `${ORG_YAML.replace('providers:\n', 'providers:\n  - { id: external, dialect: openai, simulate: true, models: [gpt-5-mini], prices: openai, data_classes: [public, internal] }\n  - { id: backup, dialect: openai, simulate: true, models: [gpt-4o], prices: openai }\n  - { id: slow, dialect: openai, simulate: true, models: [gpt-4.1-nano], prices: openai, timeout_s: 0.3 }\n')}
routes:
  - id: support-drafting
    name: Support drafting
    owner: bob
    tiers: { premium: gpt-4.1, standard: gpt-4o, economy: gpt-4o-mini }
    default_tier: standard
    max_output_tokens: 300
    max_input_tokens: 200
    downgrade: [{ at: 50, to: economy }]
  - id: resilient
    tiers: { standard: gpt-4o }
    default_tier: standard
    fallbacks: [gpt-4.1, gpt-4o-mini]
  - id: patient
    tiers: { standard: slow/gpt-4.1-nano }
    default_tier: standard
    fallbacks: [gpt-4o-mini]
  - id: ladder
    tiers: { premium: gpt-4.1, standard: gpt-4.1-mini, economy: gpt-4o-mini }
    default_tier: premium
    human_review: true
    downgrade: [{ at: 75, to: standard }, { at: 90, to: economy }]
  - id: balanced
    tiers: { standard: [{ model: openai/gpt-4o, weight: 3 }, { model: backup/gpt-4o, weight: 1 }] }
    default_tier: standard
  - id: strict
    tiers: { premium: gpt-4.1, standard: gpt-4o }
    default_tier: standard
    exceptions: refuse
  - id: legal-review
    owner: bob
    tiers: { premium: gpt-4.1, standard: gpt-4o, economy: gpt-4o-mini }
    default_tier: economy
    exceptions: approval
  - id: breaker
    tiers: { standard: gpt-5 }
    default_tier: standard
    fallbacks: [gpt-5.1]
  - id: summarise
    tiers: { standard: external/gpt-5-mini }
    default_tier: standard
    fallbacks: [gpt-4o-mini]
  - id: external-only
    tiers: { standard: external/gpt-5-mini }
    default_tier: standard
  - id: public-only
    tiers: { standard: gpt-4o-mini }
    default_tier: standard
    data_classes: [public, internal]
  - id: claude-review
    tiers: { standard: anthropic/claude-haiku-4-5 }
    default_tier: standard
budgets:
  - { id: finance-month, name: Finance, scope: { department: finance }, window: month, limit: { amount: "0.0200", currency: USD }, enforcement: soft }
  - { id: platform-month, name: Platform, scope: { department: platform }, window: month, limit: { amount: "0.0500", currency: USD }, enforcement: soft }
`;

let t: TestBursar;
beforeAll(async () => {
  t = await startTestBursar({ yaml: YAML });
});
afterAll(() => t.close());

const ask = (secret: string, model: string, extra: Record<string, unknown> = {}) =>
  t.openai(secret).chat.completions.create({ model, messages: [{ role: 'user', content: 'Draft a reply about a late parcel.' }], ...extra } as never).withResponse();

describe('routes', () => {
  it('serve a route named as the model with its default tier, or the tier named, and record both', async () => {
    const k = await t.key({ department: 'support' });
    const { data, response } = await ask(k.secret, 'route:support-drafting', { max_tokens: 50 });
    expect(t.sim.requests.at(-1)!.body.model).toBe('gpt-4o');
    expect(data.model).toContain('gpt-4o');
    expect(response.headers.get('x-bursar-route')).toBe('support-drafting');
    expect(response.headers.get('x-bursar-tier')).toBe('standard');
    expect(response.headers.get('x-bursar-routing')).toBe('default tier');
    const line = await t.line(response.headers.get('x-request-id')!);
    expect(line!.dims).toMatchObject({ route: 'support-drafting', tier: 'standard', requested_model: 'route:support-drafting', model: 'gpt-4o' });

    const economy = await ask(k.secret, 'route:support-drafting/economy', { max_tokens: 50 });
    expect(t.sim.requests.at(-1)!.body.model).toBe('gpt-4o-mini');
    expect(economy.response.headers.get('x-bursar-tier')).toBe('economy');
    expect(economy.response.headers.get('x-bursar-routing')).toBe('tier requested');

    // The usage report groups by route and tier.
    await t.settled();
    const report = (await t.admin<{ rows: { group: Record<string, string | null>; requests: number }[] }>('GET', '/usage?group_by=route,tier')).body;
    expect(report.rows).toEqual(expect.arrayContaining([
      expect.objectContaining({ group: { route: 'support-drafting', tier: 'standard' }, requests: 1 }),
      expect.objectContaining({ group: { route: 'support-drafting', tier: 'economy' }, requests: 1 }),
    ]));
  });

  it("refuse a prompt longer than the route's context, before any provider sees it", async () => {
    const k = await t.key({ department: 'support' });
    const before = t.sim.requests.length;
    const long = 'Please summarise the history of this parcel and every scan event. '.repeat(40);
    await expect(ask(k.secret, 'route:support-drafting', { messages: [{ role: 'user', content: long }] }))
      .rejects.toMatchObject({ status: 400, code: 'context_too_large', param: 'messages', message: expect.stringContaining('allows 200') });
    expect(t.sim.requests.length).toBe(before);
    // A prompt whose bytes exceed the limit but whose tokens do not is served.
    await ask(k.secret, 'route:support-drafting', { max_tokens: 10, messages: [{ role: 'user', content: 'ab '.repeat(90) }] });
    expect(t.sim.requests.length).toBe(before + 1);
  });

  it("lower a larger output cap to the route's, and say so", async () => {
    const k = await t.key({ department: 'support' });
    const { response } = await ask(k.secret, 'route:support-drafting', { max_tokens: 2000 });
    expect(t.sim.requests.at(-1)!.body.max_tokens).toBe(300);
    expect(response.headers.get('x-bursar-max-tokens')).toBe('300');
    expect(response.headers.get('x-bursar-max-tokens-reason')).toBe('route:support-drafting');
    await ask(k.secret, 'route:support-drafting', { max_tokens: 100 });
    expect(t.sim.requests.at(-1)!.body.max_tokens).toBe(100);
  });

  it("route an unchanged client by its key's default route", async () => {
    const k = await t.key({ department: 'support', default_route: 'support-drafting' });
    // A model the route serves picks its tier; any other goes to the default tier.
    const mini = await ask(k.secret, 'gpt-4o-mini', { max_tokens: 20 });
    expect(t.sim.requests.at(-1)!.body.model).toBe('gpt-4o-mini');
    expect(mini.response.headers.get('x-bursar-tier')).toBe('economy');
    const other = await ask(k.secret, 'gpt-5', { max_tokens: 20 });
    expect(t.sim.requests.at(-1)!.body.model).toBe('gpt-4o');
    expect(other.response.headers.get('x-bursar-routing')).toBe('key default route, default tier');
    const line = await t.line(other.response.headers.get('x-request-id')!);
    expect(line!.dims).toMatchObject({ route: 'support-drafting', tier: 'standard', requested_model: 'gpt-5' });
    // A key cannot name a route that does not exist.
    const bad = await t.admin<{ error: { code: string; param: string } }>('POST', '/keys', { label: 'bad-route', department: 'support', default_route: 'nope' });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'validation_failed', param: 'default_route' });
  });

  it('step down at the threshold of the budget that covers the call', async () => {
    const k = await t.key({ department: 'finance' });
    let downgraded: Headers | null = null;
    for (let i = 0; i < 60 && !downgraded; i++) {
      const { response } = await t.openai(k.secret, { 'x-bursar-exception': 'board pack' }).chat.completions
        .create({ model: 'route:support-drafting/premium', messages: [{ role: 'user', content: 'Draft a reply about a late parcel.' }], max_tokens: 200 }).withResponse();
      await t.settled();
      if (response.headers.get('x-bursar-tier') === 'economy') downgraded = response.headers;
      else expect(t.sim.requests.at(-1)!.body.model).toBe('gpt-4.1');
    }
    expect(downgraded).not.toBeNull();
    expect(t.sim.requests.at(-1)!.body.model).toBe('gpt-4o-mini');
    expect(downgraded!.get('x-bursar-routing')).toMatch(/^downgraded from premium: budget "finance-month" is at \d+% \(the route steps down at 50%\)$/);
    const status = (await t.admin<{ members: { used_percent: number }[] }>('GET', '/budgets/finance-month')).body.members[0]!;
    expect(status.used_percent).toBeGreaterThanOrEqual(50);
  });

  it('step down rung by rung: at 75% premium becomes standard, at 90% economy; the ledger and the savings report say what it saved', async () => {
    const k = await t.key({ department: 'platform' });
    const seen: { tier: string; reason: string; id: string }[] = [];
    for (let i = 0; i < 200 && seen.at(-1)?.tier !== 'economy'; i++) {
      const { response } = await ask(k.secret, 'route:ladder', { max_tokens: 200 });
      await t.settled();
      seen.push({ tier: response.headers.get('x-bursar-tier')!, reason: response.headers.get('x-bursar-routing')!, id: response.headers.get('x-request-id')! });
      expect(response.headers.get('x-bursar-review')).toBe('required');
    }
    const tiers = seen.map((s) => s.tier).filter((x, i, all) => all[i - 1] !== x);
    expect(tiers).toEqual(['premium', 'standard', 'economy']);
    const firstStandard = seen.find((s) => s.tier === 'standard')!;
    expect(firstStandard.reason).toMatch(/^downgraded from premium: budget "platform-month" is at (7[5-9]|8\d)% \(the route steps down at 75%\)$/);
    expect(seen.at(-1)!.reason).toMatch(/^downgraded from premium: budget "platform-month" is at (9\d|\d{3})% \(the route steps down at 90%\)$/);

    // Each line records what it was and what it would have cost on the tier it asked for.
    const premium = (await t.line(seen[0]!.id))!;
    expect(premium.dims).toMatchObject({ tier: 'premium', downgraded_from: null, baseline_model: 'gpt-4.1' });
    expect(premium.baselineOrgNano).toBe(premium.orgCostNano);
    expect(premium.humanReview).toBe(true);
    const down = (await t.line(seen.at(-1)!.id))!;
    expect(down.dims).toMatchObject({ tier: 'economy', model: 'gpt-4o-mini', downgraded_from: 'premium', baseline_model: 'gpt-4.1' });
    expect(down.baselineOrgNano! > down.orgCostNano).toBe(true);

    const report = (await t.admin<{ rows: { group: Record<string, string | null>; requests: number; cost: string; baseline: string; saved: string }[]; total: { saved: string }; currency: string }>(
      'GET', '/reports/savings?group_by=route,tier,downgraded_from')).body;
    const row = (tier: string) => report.rows.find((r) => r.group.route === 'ladder' && r.group.tier === tier)!;
    expect(row('premium')).toMatchObject({ saved: '0', group: { downgraded_from: null } });
    expect(row('economy').group.downgraded_from).toBe('premium');
    expect(Number(row('economy').saved)).toBeGreaterThan(0);
    expect(Number(row('standard').saved)).toBeGreaterThan(0);
    expect(report.currency).toBe('USD');
    // Exact: saved is baseline minus cost, to the nano-unit.
    for (const r of report.rows) expect(BigInt(Math.round(Number(r.baseline) * 1e9)) - BigInt(Math.round(Number(r.cost) * 1e9))).toBe(BigInt(Math.round(Number(r.saved) * 1e9)));
    // The usage report groups by the routing outcome too.
    const usage = (await t.admin<{ rows: { group: Record<string, string | null>; requests: number }[] }>('GET', '/usage?group_by=route,downgraded_from&route=ladder')).body;
    expect(usage.rows.find((r) => r.group.downgraded_from === 'premium')!.requests).toBe(seen.filter((s) => s.tier !== 'premium').length);
    const { stdout } = await run(process.execPath, [CLI, 'savings', '--group-by', 'route,tier'], { env: { ...process.env, BURSAR_URL: t.url, BURSAR_TOKEN: t.adminToken } });
    expect(stdout).toMatch(/ladder/);
    expect(stdout).toMatch(/total: .* saved on \d+ routed calls/);
  });

  it('refuse an unknown route or tier, and an Anthropic tier for the responses endpoint, in the caller\'s dialect', async () => {
    const k = await t.key({ department: 'support' });
    await expect(ask(k.secret, 'route:nope')).rejects.toMatchObject({ status: 400, code: 'unknown_route', message: expect.stringContaining('support-drafting') });
    await expect(ask(k.secret, 'route:support-drafting/gold')).rejects.toMatchObject({ status: 400, code: 'unknown_tier', message: expect.stringContaining('premium, standard, economy') });
    // Chat completions are translated (test/e2e/translation.test.ts); the responses endpoint has no Anthropic counterpart.
    await expect(t.openai(k.secret).responses.create({ model: 'route:claude-review', input: 'hi' })).rejects.toMatchObject({ status: 400, code: 'dialect_mismatch' });
    const a = t.anthropic(k.secret).messages.create({ model: 'route:nope', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] });
    await expect(a).rejects.toMatchObject({ status: 400, error: { error: { type: 'invalid_request_error', code: 'unknown_route' } } });
    // The Anthropic route serves the Anthropic dialect.
    const ok = await t.anthropic(k.secret).messages.create({ model: 'route:claude-review', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] });
    expect(ok.model).toContain('claude-haiku-4-5');
  });
});

describe('fallbacks', () => {
  const failing = new Map<string, { kind: 'status'; status: number } | { kind: 'reset' }>();
  beforeAll(() => {
    t.sim.options = { fault: (r) => failing.get(String(r.body.model)) };
  });
  afterAll(() => {
    t.sim.options = {};
  });

  it('move a call on to the next model when its provider does not answer in time', async () => {
    const k = await t.key({ department: 'support' });
    const hang = { kind: 'hang' } as const;
    t.sim.options = { fault: (r) => (r.body.model === 'gpt-4.1-nano' ? hang : failing.get(String(r.body.model))) };
    try {
      const { response } = await ask(k.secret, 'route:patient', { max_tokens: 20 });
      expect(t.sim.requests.at(-1)!.body.model).toBe('gpt-4o-mini');
      expect(response.headers.get('x-bursar-fallback-from')).toBe('slow/gpt-4.1-nano');
      const line = await t.line(response.headers.get('x-request-id')!);
      expect(line!.dims).toMatchObject({ route: 'patient', model: 'gpt-4o-mini', fallback_model: 'slow/gpt-4.1-nano', baseline_model: 'slow/gpt-4.1-nano' });
    } finally {
      t.sim.options = { fault: (r) => failing.get(String(r.body.model)) };
    }
  });

  it('move a call on to the next model on a 429, a 5xx or a lost connection, streaming or not, and record it', async () => {
    const k = await t.key({ department: 'support' });
    // A 4xx other than 429 is the caller's to see: no fallback.
    failing.set('gpt-4o', { kind: 'status', status: 400 });
    await expect(ask(k.secret, 'route:resilient', { max_tokens: 20 })).rejects.toMatchObject({ status: 400 });
    expect(t.sim.requests.at(-1)!.body.model).toBe('gpt-4o');
    for (const fault of [{ kind: 'status', status: 429 }, { kind: 'status', status: 503 }, { kind: 'reset' }] as const) {
      failing.clear();
      failing.set('gpt-4o', fault);
      const { response } = await ask(k.secret, 'route:resilient', { max_tokens: 20 });
      expect(t.sim.requests.at(-1)!.body.model).toBe('gpt-4.1');
      expect(response.headers.get('x-bursar-fallback-from')).toBe('gpt-4o');
      const line = await t.line(response.headers.get('x-request-id')!);
      expect(line!.dims).toMatchObject({ route: 'resilient', model: 'gpt-4.1', fallback_model: 'gpt-4o' });
      expect(line!.status).toBe('ok');
    }
    // Streaming too, and past two failing models (gpt-4o's circuit is open by now: skipped).
    failing.clear();
    failing.set('gpt-4o', { kind: 'status', status: 500 });
    failing.set('gpt-4.1', { kind: 'status', status: 429 });
    const stream = await t.openai(k.secret).chat.completions.create({ model: 'route:resilient', messages: [{ role: 'user', content: 'hi' }], max_tokens: 20, stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    expect(text.length).toBeGreaterThan(0);
    expect(t.sim.requests.at(-1)!.body.model).toBe('gpt-4o-mini');
  });

  it('skip a model whose circuit opened after three failures in a row, and pass the last error on when all fail', async () => {
    const k = await t.key({ department: 'support' });
    failing.clear();
    failing.set('gpt-5', { kind: 'status', status: 503 });
    const tries = () => t.sim.requests.filter((r) => r.body.model === 'gpt-5').length;
    for (let i = 0; i < 3; i++) await ask(k.secret, 'route:breaker', { max_tokens: 20 });
    expect(tries()).toBe(3);
    const { response } = await ask(k.secret, 'route:breaker', { max_tokens: 20 });
    expect(tries()).toBe(3); // its circuit is open: not tried
    expect(response.headers.get('x-bursar-fallback-from')).toBe('gpt-5');
    // When every model fails, the caller gets the last one's answer.
    failing.set('gpt-5.1', { kind: 'status', status: 503 });
    await expect(ask(k.secret, 'route:breaker', { max_tokens: 20 })).rejects.toMatchObject({ status: 503 });
    failing.clear();
  });
});

describe('load balancing', () => {
  it('spreads a tier over its deployments by weight, and falls back to the others first', async () => {
    const k = await t.key({ department: 'support' });
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) ids.push((await ask(k.secret, 'route:balanced', { max_tokens: 10 })).response.headers.get('x-request-id')!);
    await t.settled();
    const providers = await Promise.all(ids.map(async (id) => (await t.line(id))!.dims.provider));
    expect(providers.filter((p) => p === 'openai').length).toBe(6);
    expect(providers.filter((p) => p === 'backup').length).toBe(2);
    // Never twice in a row on the lighter deployment (smooth weighted round robin).
    expect(providers.join(',')).not.toContain('backup,backup');
  });
});

describe('exceptions', () => {
  it('need a reason for a tier stronger than the default, record it, and are refused where the route says so', async () => {
    const k = await t.key({ department: 'support' });
    await expect(ask(k.secret, 'route:support-drafting/premium', { max_tokens: 20 }))
      .rejects.toMatchObject({ status: 400, code: 'exception_reason_required', message: expect.stringContaining('x-bursar-exception') });
    const ok = await t.openai(k.secret, { 'x-bursar-exception': 'contract over 50 pages; urgent' }).chat.completions
      .create({ model: 'route:support-drafting/premium', messages: [{ role: 'user', content: 'x' }], max_tokens: 20 }).withResponse();
    expect(t.sim.requests.at(-1)!.body.model).toBe('gpt-4.1');
    expect(ok.response.headers.get('x-bursar-routing')).toBe('exception: contract over 50 pages urgent');
    const line = await t.line(ok.response.headers.get('x-request-id')!);
    expect(line!.dims).toMatchObject({ tier: 'premium', exception: 'contract over 50 pages urgent' });
    await t.settled();
    const byException = (await t.admin<{ rows: { group: Record<string, string | null>; requests: number }[] }>('GET', '/usage?group_by=exception&route=support-drafting')).body;
    expect(byException.rows.find((r) => r.group.exception === 'contract over 50 pages urgent')!.requests).toBe(1);
    // Weaker tiers, and the default, need no reason.
    await ask(k.secret, 'route:support-drafting/economy', { max_tokens: 20 });
    await expect(t.openai(k.secret, { 'x-bursar-exception': 'please' }).chat.completions.create({ model: 'route:strict/premium', messages: [{ role: 'user', content: 'x' }] }))
      .rejects.toMatchObject({ status: 403, code: 'exception_refused' });
  });
});

describe('exceptions that need approval', () => {
  it('are refused until the route owner approves one for the caller, then serve it (and weaker tiers) until it expires; every step audited', async () => {
    const k = await t.key({ department: 'support' });
    const other = await t.key({ department: 'support' });
    const workflowOf = (secret: string) => (secret === k.secret ? 'contracts' : 'chit-chat');
    const premium = (secret: string) => t.openai(secret, { 'x-bursar-exception': 'contract over 50 pages', 'x-bursar-workflow': workflowOf(secret) }).chat.completions
      .create({ model: 'route:legal-review/premium', messages: [{ role: 'user', content: 'x' }], max_tokens: 20 }).withResponse();
    const sent = t.sim.requests.length;
    await expect(premium(k.secret)).rejects.toMatchObject({ status: 403, code: 'exception_needs_approval', message: expect.stringContaining('bursar exceptions request legal-review --tier premium') });
    expect(t.sim.requests.length).toBe(sent);

    // A member asks, through the CLI, for the workflow's calls; only the route's owner (bob), finance or an admin decides.
    const member = (await t.admin<{ secret: string }>('POST', '/tokens', { label: 'dave-member', role: 'member', user: 'dave' })).body.secret;
    const owner = (await t.admin<{ secret: string }>('POST', '/tokens', { label: 'bob-owner', role: 'member', user: 'bob' })).body.secret;
    const cli = (token: string, ...args: string[]) => run(process.execPath, [CLI, ...args, '--json'], { env: { ...process.env, BURSAR_URL: t.url, BURSAR_TOKEN: token } });
    const asked = JSON.parse((await cli(member, 'exceptions', 'request', 'legal-review', '--tier', 'premium', '--workflow', 'contracts', '--reason', 'long contracts this quarter')).stdout) as { id: string; state: string };
    expect(asked.state).toBe('requested');
    await expect(premium(k.secret)).rejects.toMatchObject({ code: 'exception_needs_approval' });
    expect((await t.admin('POST', `/exceptions/${asked.id}/approve`, {}, member)).status).toBe(403);
    expect(JSON.parse((await cli(owner, 'exceptions', 'approve', asked.id, '--note', 'ok for Q4')).stdout)).toMatchObject({ state: 'approved', decided_by: 'bob-owner' });

    // Approved: the workflow's calls get premium, and the standard tier between; other workflows still do not.
    const ok = await premium(k.secret);
    expect(t.sim.requests.at(-1)!.body.model).toBe('gpt-4.1');
    const line = await t.line(ok.response.headers.get('x-request-id')!);
    expect(line!.dims).toMatchObject({ tier: 'premium', exception: `${asked.id}: contract over 50 pages` });
    await t.openai(k.secret, { 'x-bursar-exception': 'a hard one', 'x-bursar-workflow': 'contracts' }).chat.completions.create({ model: 'route:legal-review/standard', messages: [{ role: 'user', content: 'x' }], max_tokens: 20 });
    expect(t.sim.requests.at(-1)!.body.model).toBe('gpt-4o');
    await expect(premium(other.secret)).rejects.toMatchObject({ code: 'exception_needs_approval' });

    // Asking where no approval is needed, or for a tier that needs no exception, is refused with the reason.
    expect((await t.admin<{ error: { code: string } }>('POST', '/exceptions', { route: 'support-drafting', tier: 'premium', for: { workflow: 'contracts' }, reason: 'x' })).body.error.code).toBe('conflict');
    expect((await t.admin<{ error: { param: string } }>('POST', '/exceptions', { route: 'legal-review', tier: 'economy', for: { workflow: 'contracts' }, reason: 'x' })).body.error.param).toBe('tier');
    expect((await t.admin<{ error: { param: string } }>('POST', '/exceptions', { route: 'legal-review', tier: 'premium', for: {}, reason: 'x' })).body.error.param).toBe('for');

    // A denied one serves nothing; an expired one no longer does.
    const denied = (await t.admin<{ id: string }>('POST', '/exceptions', { route: 'legal-review', tier: 'premium', for: { workflow: 'chit-chat' }, reason: 'want it' })).body;
    expect((await t.admin('POST', `/exceptions/${denied.id}/deny`, { note: 'no' })).body).toMatchObject({ state: 'denied' });
    await expect(premium(other.secret)).rejects.toMatchObject({ code: 'exception_needs_approval' });
    const brief = (await t.admin<{ id: string }>('POST', '/exceptions', { route: 'legal-review', tier: 'premium', for: { key: other.id }, reason: 'one day', expires_at: new Date(Date.now() + 1500).toISOString() })).body;
    await t.admin('POST', `/exceptions/${brief.id}/approve`, {});
    await premium(other.secret);
    await new Promise((r) => setTimeout(r, 1600));
    await expect(premium(other.secret)).rejects.toMatchObject({ code: 'exception_needs_approval' });

    // The member sees what they asked for; the audit log has every step.
    const mine = (await t.admin<{ data: { id: string }[] }>('GET', '/exceptions', undefined, member)).body.data.map((e) => e.id);
    expect(mine).toEqual([asked.id]);
    const audit = (await t.admin<{ data: { action: string }[] }>('GET', '/audit?target=route:legal-review')).body.data.map((e) => e.action);
    expect(audit).toEqual(expect.arrayContaining(['route_exception.request', 'route_exception.approve', 'route_exception.deny']));
  });
});

describe('data classes', () => {
  it('keep a call away from providers not allowed its class, by header, key or route, and refuse when none is', async () => {
    const k = await t.key({ department: 'support' });
    // Unmarked, the route's own model serves it.
    await ask(k.secret, 'route:summarise', { max_tokens: 20 });
    expect(t.sim.requests.at(-1)!.body.model).toBe('gpt-5-mini');
    // Marked confidential, the external provider is passed over for the route's fallback.
    const confidential = await t.openai(k.secret, { 'x-bursar-data-class': 'confidential' }).chat.completions
      .create({ model: 'route:summarise', messages: [{ role: 'user', content: 'x' }], max_tokens: 20 }).withResponse();
    expect(t.sim.requests.at(-1)!.body.model).toBe('gpt-4o-mini');
    const line = await t.line(confidential.response.headers.get('x-request-id')!);
    expect(line!.dims).toMatchObject({ data_class: 'confidential', provider: 'openai', fallback_model: 'external/gpt-5-mini' });
    // No model of the route may receive it: refused, naming the class and the provider.
    const sent = t.sim.requests.length;
    await expect(t.openai(k.secret, { 'x-bursar-data-class': 'confidential' }).chat.completions.create({ model: 'route:external-only', messages: [{ role: 'user', content: 'x' }] }))
      .rejects.toMatchObject({ status: 403, code: 'data_class_not_allowed', message: expect.stringContaining('provider "external" (model "external/gpt-5-mini") may receive public, internal') });
    expect(t.sim.requests.length).toBe(sent);
    // A key marked confidential stays confidential whatever the header says.
    const secretKey = await t.key({ department: 'support', data_class: 'confidential' });
    await expect(t.openai(secretKey.secret, { 'x-bursar-data-class': 'public' }).chat.completions.create({ model: 'route:external-only', messages: [{ role: 'user', content: 'x' }] }))
      .rejects.toMatchObject({ code: 'data_class_not_allowed' });
    // A route may refuse a class outright; an unknown class is a bad header.
    await expect(t.openai(k.secret, { 'x-bursar-data-class': 'restricted' }).chat.completions.create({ model: 'route:public-only', messages: [{ role: 'user', content: 'x' }] }))
      .rejects.toMatchObject({ status: 403, code: 'data_class_not_allowed', message: expect.stringContaining('may carry public, internal only') });
    await expect(t.openai(k.secret, { 'x-bursar-data-class': 'secret-ish' }).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }))
      .rejects.toMatchObject({ status: 400, code: 'invalid_metadata' });
    expect((await t.admin<{ error: { param: string } }>('POST', '/keys', { label: 'bad-class', department: 'support', data_class: 'nope' })).body.error.param).toBe('data_class');
  });
});

describe('routes through the admin API and CLI', () => {
  it('lists the declared routes', async () => {
    const r = await t.admin<{ data: { id: string; default_tier: string; fallbacks: string[] }[] }>('GET', '/routes');
    expect(r.body.data.find((x) => x.id === 'resilient')).toMatchObject({ default_tier: 'standard', fallbacks: ['gpt-4.1', 'gpt-4o-mini'] });
    const { stdout } = await run(process.execPath, [CLI, 'routes'], { env: { ...process.env, BURSAR_URL: t.url, BURSAR_TOKEN: t.adminToken } });
    expect(stdout).toMatch(/support-drafting\s+│\s+premium: gpt-4\.1/);
    expect(stdout).toContain('50% -> economy');
  });

  it('create, change and remove a route through the API and the CLI; calls follow at once; bursar.yaml routes change only there', async () => {
    const k = await t.key({ department: 'support' });
    const created = await t.admin<{ id: string }>('POST', '/routes', { id: 'api-made', tiers: { standard: 'gpt-4o', economy: 'gpt-4o-mini' }, default_tier: 'standard', owner: 'bob' });
    expect(created.status).toBe(201);
    await ask(k.secret, 'route:api-made', { max_tokens: 10 });
    expect(t.sim.requests.at(-1)!.body.model).toBe('gpt-4o');
    const changed = await t.admin('PUT', '/routes/api-made', { tiers: { standard: 'gpt-4o', economy: 'gpt-4o-mini' }, default_tier: 'economy' });
    expect(changed.status).toBe(200);
    await ask(k.secret, 'route:api-made', { max_tokens: 10 });
    expect(t.sim.requests.at(-1)!.body.model).toBe('gpt-4o-mini');
    // A key may take it as its default route.
    const keyed = await t.key({ department: 'support', default_route: 'api-made' });
    await ask(keyed.secret, 'gpt-4o', { max_tokens: 10 });
    expect(t.sim.requests.at(-1)!.body.model).toBe('gpt-4o');
    expect((await t.admin<{ managed_by: string }>('GET', '/routes/api-made')).body.managed_by).toBe('api');

    // Clear refusals: a model no provider serves, an unknown owner, a route of bursar.yaml, a duplicate.
    const bad = await t.admin<{ error: { code: string; param: string; message: string } }>('POST', '/routes', { id: 'bad', tiers: { standard: 'no-such-model' }, default_tier: 'standard' });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'validation_failed', param: 'tiers.standard' });
    const owner = await t.admin<{ error: { param: string } }>('POST', '/routes', { id: 'bad', tiers: { standard: 'gpt-4o' }, default_tier: 'standard', owner: 'nobody' });
    expect(owner.body.error.param).toBe('owner');
    const yaml = await t.admin<{ error: { code: string; message: string } }>('PUT', '/routes/resilient', { tiers: { standard: 'gpt-4o' }, default_tier: 'standard' });
    expect(yaml.status).toBe(409);
    expect(yaml.body.error.message).toContain('bursar.yaml');
    expect((await t.admin('POST', '/routes', { id: 'api-made', tiers: { standard: 'gpt-4o' }, default_tier: 'standard' })).status).toBe(409);

    // The CLI: create from a file, list, remove; a removed route is refused by name.
    const dir = mkdtempSync(join(tmpdir(), 'bursar-route-'));
    const file = join(dir, 'route.yaml');
    writeFileSync(file, 'id: cli-made\ntiers: { standard: gpt-4o-mini }\ndefault_tier: standard\nfallbacks: [gpt-4o]\n');
    const env = { ...process.env, BURSAR_URL: t.url, BURSAR_TOKEN: t.adminToken };
    expect((await run(process.execPath, [CLI, 'routes', 'create', file], { env })).stdout).toContain('route:cli-made');
    expect((await run(process.execPath, [CLI, 'routes', 'list'], { env })).stdout).toMatch(/cli-made\s+│\s+standard: gpt-4o-mini[\s\S]*api/);
    await ask(k.secret, 'route:cli-made', { max_tokens: 10 });
    expect(t.sim.requests.at(-1)!.body.model).toBe('gpt-4o-mini');
    await run(process.execPath, [CLI, 'routes', 'remove', 'cli-made'], { env });
    await expect(ask(k.secret, 'route:cli-made')).rejects.toMatchObject({ status: 400, code: 'unknown_route' });
    const audit = (await t.admin<{ data: { action: string }[] }>('GET', '/audit?target=route:cli-made')).body.data.map((e) => e.action);
    expect(audit).toEqual(['route.create', 'route.remove']);
  });
});

describe('route configuration', () => {
  it('refuses to start with a tier no provider serves, naming where', async () => {
    const bad = `${ORG_YAML}\nroutes:\n  - { id: r, tiers: { standard: no-such-model }, default_tier: standard }\n`;
    await expect(startTestBursar({ yaml: bad })).rejects.toThrow(/routes\[0\]\.tiers\.standard: No configured provider serves model "no-such-model"/);
  });
});
