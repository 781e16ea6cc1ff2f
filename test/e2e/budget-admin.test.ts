/**
 * Managing budgets: as code in bursar.yaml (applied idempotently, audited), through the admin
 * API (with each role's limits), overrides that are denied or expire, sandboxes that expire and
 * graduate, onboarding control, and counters rebuilt from the ledger after a restart.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ORG_YAML, startTestBursar, type TestBursar } from '../helpers/bursar.js';

const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
const lastMonth = new Date(Date.now() - 40 * 86_400_000).toISOString().slice(0, 10);

const YAML = `${ORG_YAML}
budgets:
  - { id: company, name: Company monthly, window: month, limit: { amount: "50.00", currency: USD }, owner: carol }
  - { id: support-prod, name: Support production, scope: { department: support }, window: month, limit: { amount: "5.00", currency: USD }, owner: bob, category: production }
  - id: support-pilot
    name: Support triage pilot
    scope: { department: support, workflow: triage }
    window: { from: "${lastMonth}", to: "${yesterday}" }
    limit: { amount: "1.00", currency: USD }
    category: pilot
    owner: bob
`;

let t: TestBursar;
beforeAll(async () => {
  t = await startTestBursar({ yaml: YAML });
});
afterAll(() => t.close());

const ask = (secret: string, headers: Record<string, string> = {}) =>
  t.openai(secret, headers).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }], max_tokens: 10 });

describe('budgets as code', () => {
  it('are in the store, audited as changed by config, and read-only through the API', async () => {
    const list = (await t.admin<{ data: { id: string }[] }>('GET', '/budgets')).body.data.map((b) => b.id).sort();
    expect(list).toEqual(['company', 'support-pilot', 'support-prod']);
    const audit = (await t.admin<{ data: { action: string; actor: string }[] }>('GET', '/audit?target=budget:company')).body.data;
    expect(audit).toEqual([expect.objectContaining({ action: 'budget.create', actor: 'config' })]);
    const put = await t.admin<{ error: { code: string; message: string } }>('PUT', '/budgets/company', { window: 'month', limit: { amount: '1.00', currency: 'USD' } });
    expect(put.status).toBe(409);
    expect(put.body.error.message).toMatch(/declared in bursar\.yaml; change it there/);
  });

  it('apply idempotently on restart, and record what changed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bursar-yaml-'));
    try {
      const first = await startTestBursar({ yaml: YAML, dataDir: dir });
      await first.close();
      const same = await startTestBursar({ yaml: YAML, dataDir: dir });
      const before = (await same.admin<{ data: unknown[] }>('GET', '/audit?target=budget:support-prod')).body.data.length;
      await same.close();
      const changed = await startTestBursar({ yaml: YAML.replace('"5.00"', '"7.50"').replace(/  - id: support-pilot[\s\S]*$/, ''), dataDir: dir });
      const audit = (await changed.admin<{ data: { action: string; actor: string; details: { after?: { limit: { amount: string } } } }[] }>('GET', '/audit?target=budget:support-prod')).body.data;
      expect(before).toBe(1);
      expect(audit.map((a) => a.action)).toEqual(['budget.create', 'budget.update']);
      expect(audit[1]!.details.after!.limit.amount).toBe('7.50');
      const removed = (await changed.admin<{ data: { action: string }[] }>('GET', '/audit?target=budget:support-pilot')).body.data.map((a) => a.action);
      expect(removed).toEqual(['budget.create', 'budget.remove']);
      await changed.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('budgets through the API', () => {
  it('validate what they refer to, and let a manager create only within their department', async () => {
    const bad = await t.admin<{ error: { code: string; param: string; message: string } }>('POST', '/budgets', { id: 'x', scope: { department: 'sales' }, window: 'month', limit: { amount: '1', currency: 'USD' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'validation_failed', param: 'scope.department' });
    const noLimit = await t.admin<{ error: { message: string } }>('POST', '/budgets', { id: 'y', window: 'month', limit: {} });
    expect(noLimit.body.error.message).toMatch(/limit: needs an amount/);
    const manager = (await t.admin<{ secret: string }>('POST', '/tokens', { label: 'mkt', role: 'manager', department: 'marketing' })).body.secret;
    const mine = { id: 'growth-weekly', scope: { team: 'growth' }, window: 'week', limit: { amount: '2.00', currency: 'USD' }, owner: 'alice' };
    expect((await t.admin('POST', '/budgets', mine, manager)).status).toBe(201);
    expect((await t.admin('POST', '/budgets', { ...mine, id: 'sneaky', scope: { department: 'support' } }, manager)).status).toBe(403);
    const seen = (await t.admin<{ data: { id: string }[] }>('GET', '/budgets', undefined, manager)).body.data.map((b) => b.id);
    expect(seen).toEqual(['growth-weekly']);
    expect((await t.admin('PUT', '/budgets/growth-weekly', { ...mine, limit: { amount: '3.00', currency: 'USD' } }, manager)).status).toBe(200);
    expect((await t.admin<{ members: { limit: { amount: string } }[] }>('GET', '/budgets/growth-weekly', undefined, manager)).body.members[0]!.limit.amount).toBe('3');
    expect((await t.admin('DELETE', '/budgets/growth-weekly', undefined, manager)).status).toBe(204);
  });

  it('show status: used, reserved, remaining, thresholds and a projection', async () => {
    const k = await t.key({ project: 'support-bot' });
    await ask(k.secret);
    await t.settled();
    const s = (await t.admin<{ window: { label: string }; members: { used: { amount: string }; reserved: { amount: string }; remaining: { amount: string }; projected_end_of_window: { amount: string }; used_percent: number }[] }>('GET', '/budgets/support-prod')).body;
    const m = s.members[0]!;
    expect(Number(m.used.amount)).toBeGreaterThan(0);
    expect(m.reserved.amount).toBe('0');
    expect(Number(m.remaining.amount)).toBeCloseTo(5 - Number(m.used.amount), 9);
    expect(Number(m.projected_end_of_window.amount)).toBeGreaterThanOrEqual(Number(m.used.amount));
    expect(s.window.label).toMatch(/^\d{4}-\d{2}$/);
  });
});

describe('overrides', () => {
  it('can be denied, and expire on their own', async () => {
    const owner = (await t.admin<{ secret: string }>('POST', '/tokens', { label: 'bob', role: 'member', user: 'bob' })).body.secret;
    const denied = await t.admin<{ id: string }>('POST', '/budgets/support-prod/overrides', { amount: '1.00', reason: 'test' }, owner);
    expect((await t.admin<{ state: string }>('POST', `/overrides/${denied.body.id}/deny`, { note: 'no' }, owner)).body.state).toBe('denied');
    expect((await t.admin('POST', `/overrides/${denied.body.id}/approve`, {}, owner)).status).toBe(409);
    const soon = new Date(Date.now() + 1500).toISOString();
    const brief = await t.admin<{ id: string }>('POST', '/budgets/support-prod/overrides', { amount: '2.00', reason: 'spike', expires_at: soon }, owner);
    await t.admin('POST', `/overrides/${brief.body.id}/approve`, {}, owner);
    expect((await t.admin<{ members: { limit: { amount: string } }[] }>('GET', '/budgets/support-prod')).body.members[0]!.limit.amount).toBe('7');
    await new Promise((r) => setTimeout(r, 1600));
    const after = (await t.admin<{ members: { limit: { amount: string } }[]; overrides: { id: string; state: string }[] }>('GET', '/budgets/support-prod')).body;
    expect(after.members[0]!.limit.amount).toBe('5');
    expect(after.overrides.find((o) => o.id === brief.body.id)!.state).toBe('expired');
    // The expiry is marked in the store and audited (the sweep runs every 10 s; run it now).
    expect(await t.b.budgets.expireOverrides()).toBe(1);
    const audit = (await t.admin<{ data: { action: string; actor: string; details: { override?: string } }[] }>('GET', '/audit?target=budget:support-prod')).body.data;
    const trail = audit.filter((a) => a.details.override === brief.body.id).map((a) => [a.action, a.actor]);
    expect(trail).toEqual([['override.request', 'bob'], ['override.approve', 'bob'], ['override.expire', 'system']]);
    expect(audit.filter((a) => a.details.override === denied.body.id).map((a) => a.action)).toEqual(['override.request', 'override.deny']);
  });
});

describe('sandboxes and pilots', () => {
  it('refuse calls once their range has ended, until the work graduates', async () => {
    const k = await t.key({ project: 'support-bot' });
    const err = await ask(k.secret, { 'x-bursar-workflow': 'triage' }).catch((e) => e);
    expect(err).toMatchObject({ status: 429, code: 'budget_expired' });
    expect(err.message).toMatch(/Budget "Support triage pilot" ran .* and has ended/);
    await ask(k.secret, { 'x-bursar-workflow': 'other' });
    const g = await t.admin<{ graduated: string; to: string }>('POST', '/budgets/support-pilot/graduate', { to: 'support-prod' });
    expect(g.body).toMatchObject({ graduated: 'support-pilot', to: 'support-prod' });
    await ask(k.secret, { 'x-bursar-workflow': 'triage' });
    const line = (await t.lines()).filter((l) => l.dims.workflow === 'triage' && l.status === 'ok').at(-1)!;
    expect(line.dims.budget_category).toBe('production');
    expect(line.budgetCharges!.keys.map((k) => k.split('|')[0]).sort()).toEqual(['company', 'support-prod']);
    const audit = (await t.admin<{ data: { action: string }[] }>('GET', '/audit?target=budget:support-pilot')).body.data.map((a) => a.action);
    expect(audit).toContain('budget.graduate');
  });
});

describe('onboarding control and restarts', () => {
  it('issues keys only where a budget with an owner covers them, when the policy says so', async () => {
    const o = await startTestBursar({ yaml: `${ORG_YAML}\nbudget_policy: { require_budget_for_keys: true }\nbudgets:\n  - { id: mkt, scope: { department: marketing }, window: month, limit: { amount: "1", currency: USD }, owner: alice }\n` });
    try {
      const refused = await o.admin<{ error: { message: string } }>('POST', '/keys', { label: 'k1', department: 'support' });
      expect(refused.status).toBe(400);
      expect(refused.body.error.message).toMatch(/No budget with an owner covers department "support"/);
      expect((await o.admin('POST', '/keys', { label: 'k2', project: 'campaign-ai' })).status).toBe(201);
    } finally {
      await o.close();
    }
  });

  it('rebuild counters from the ledger after a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bursar-restore-'));
    try {
      const a = await startTestBursar({ yaml: YAML, dataDir: dir });
      const k = await a.key({ project: 'support-bot' });
      for (let i = 0; i < 5; i++) await a.openai(k.secret).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `q${i}` }], max_tokens: 10 });
      await a.settled();
      const before = (await a.admin<{ members: { used: { amount: string }; requests: { used: number } }[] }>('GET', '/budgets/support-prod')).body.members[0]!;
      expect(before.requests.used).toBe(5);
      await a.close();
      const b = await startTestBursar({ yaml: YAML, dataDir: dir });
      const after = (await b.admin<{ members: { used: { amount: string }; requests: { used: number } }[] }>('GET', '/budgets/support-prod')).body.members[0]!;
      expect(after.used.amount).toBe(before.used.amount);
      expect(after.requests.used).toBe(5);
      await b.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
