/**
 * The use-case register with the official SDKs: in an environment whose policy requires it, a
 * call must name a registered workflow; a registered workflow's calls carry only its data
 * classes; the register is kept in bursar.yaml or through the API and CLI, and answers with
 * owner, approval, data, spend and budgets together.
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

const YAML = `${ORG_YAML}
workflow_policy: { require_registered: [production] }
workflows:
  - id: support-drafting
    name: Support reply drafting
    owner: bob
    department: support
    approved_by: alice
    risk_assessment: DPIA-2026-014
    data_classes: [public, internal]
    expected_monthly: { amount: "1200.00", currency: USD }
    outcome: Drafted replies that agents accept
budgets:
  - { id: drafting-month, scope: { workflow: support-drafting }, window: month, limit: { amount: "100", currency: USD }, owner: bob }
`;

let t: TestBursar;
beforeAll(async () => {
  t = await startTestBursar({ yaml: YAML });
});
afterAll(() => t.close());

const ask = (secret: string, headers: Record<string, string> = {}) =>
  t.openai(secret, headers).chat.completions.create({ model: 'gpt-4o-mini', max_tokens: 10, messages: [{ role: 'user', content: 'Draft a reply.' }] });

describe('the use-case register', () => {
  it('requires a registered workflow in production, and keeps its calls to its data classes', async () => {
    const prod = await t.key({ department: 'support', environment: 'production' });
    await expect(ask(prod.secret)).rejects.toMatchObject({ status: 403, code: 'workflow_not_registered', message: expect.stringContaining('names no workflow') });
    await expect(ask(prod.secret, { 'x-bursar-workflow': 'side-project' })).rejects.toMatchObject({ status: 403, code: 'workflow_not_registered', message: expect.stringContaining('"side-project", which is not registered') });
    await ask(prod.secret, { 'x-bursar-workflow': 'support-drafting' });
    await expect(ask(prod.secret, { 'x-bursar-workflow': 'support-drafting', 'x-bursar-data-class': 'confidential' })).rejects.toMatchObject({ status: 403, code: 'data_class_not_allowed' });
    // In the caller's dialect.
    const a = t.anthropic(prod.secret).messages.create({ model: 'claude-haiku-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] });
    await expect(a).rejects.toMatchObject({ status: 403, error: { error: { type: 'permission_error', code: 'workflow_not_registered' } } });
    // Other environments are not held to it.
    const dev = await t.key({ department: 'support', environment: 'development' });
    await ask(dev.secret);
    // A refusal is recorded like any other.
    await t.settled();
    const refused = (await t.lines()).filter((l) => l.dims.key === prod.id && l.errorCode === 'workflow_not_registered');
    expect(refused.length).toBe(3);
  });

  it('answers who owns a workflow, who approved it, what data it touches, what it costs and what caps it', async () => {
    await t.settled();
    const w = (await t.admin<Record<string, unknown>>('GET', '/workflows/support-drafting')).body;
    expect(w).toMatchObject({
      owner: 'bob', department: 'support', approved_by: 'alice', risk_assessment: 'DPIA-2026-014', data_classes: ['public', 'internal'],
      expected_monthly: { amount: '1200.00', currency: 'USD' }, outcome: 'Drafted replies that agents accept', managed_by: 'config',
      budgets: [{ id: 'drafting-month', owner: 'bob' }],
    });
    const spend = w.spend_this_month as { currency: string; amount: string; requests: number }[];
    expect(spend[0]!.currency).toBe('USD');
    expect(spend[0]!.requests).toBeGreaterThanOrEqual(1);
    expect(Number(spend[0]!.amount)).toBeGreaterThan(0);
  });

  it('registers, changes and removes workflows through the API and CLI, with clear refusals', async () => {
    const prod = await t.key({ department: 'marketing', environment: 'production' });
    await expect(ask(prod.secret, { 'x-bursar-workflow': 'campaign-copy' })).rejects.toMatchObject({ code: 'workflow_not_registered' });
    const entry = { id: 'campaign-copy', owner: 'alice', department: 'marketing', outcome: 'Campaign copy drafts', data_classes: ['public'] };
    expect((await t.admin('POST', '/workflows', entry)).status).toBe(201);
    await ask(prod.secret, { 'x-bursar-workflow': 'campaign-copy' });
    expect((await t.admin('PUT', '/workflows/campaign-copy', { ...entry, data_classes: ['public', 'internal'] })).status).toBe(200);
    await ask(prod.secret, { 'x-bursar-workflow': 'campaign-copy', 'x-bursar-data-class': 'internal' });

    const bad = await t.admin<{ error: { code: string; param: string } }>('POST', '/workflows', { ...entry, id: 'x', owner: 'nobody' });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'validation_failed', param: 'owner' });
    const noOutcome = await t.admin<{ error: { param: string } }>('POST', '/workflows', { id: 'y', owner: 'alice', department: 'marketing' });
    expect(noOutcome.body.error.param).toBe('outcome');
    expect((await t.admin('DELETE', '/workflows/support-drafting')).status).toBe(409);

    const dir = mkdtempSync(join(tmpdir(), 'bursar-wf-'));
    const file = join(dir, 'wf.yaml');
    writeFileSync(file, 'id: ledger-close\nowner: carol\ndepartment: finance\noutcome: Month-end close notes\nexpected_monthly: { amount: "50", currency: USD }\n');
    const env = { ...process.env, BURSAR_URL: t.url, BURSAR_TOKEN: t.adminToken };
    expect((await run(process.execPath, [CLI, 'workflows', 'register', file], { env })).stdout).toContain('x-bursar-workflow: ledger-close');
    const list = (await run(process.execPath, [CLI, 'workflows', 'list'], { env })).stdout;
    expect(list).toMatch(/ledger-close\s+│\s+carol\s+│\s+finance/);
    expect(list).toMatch(/support-drafting\s+│\s+bob/);
    await run(process.execPath, [CLI, 'workflows', 'remove', 'campaign-copy'], { env });
    await expect(ask(prod.secret, { 'x-bursar-workflow': 'campaign-copy' })).rejects.toMatchObject({ code: 'workflow_not_registered' });
    const audit = (await t.admin<{ data: { action: string }[] }>('GET', '/audit?target=workflow:campaign-copy')).body.data.map((e) => e.action);
    expect(audit).toEqual(['workflow.create', 'workflow.update', 'workflow.remove']);
  });
});
