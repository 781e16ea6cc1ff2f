/**
 * The dashboard as a person uses it, in a real browser (Debian's Chromium via playwright-core):
 * sign in, open every view and read what it shows, approve an override, revoke a key and see
 * the next call refused, run an allocation and download a statement; and the role boundaries,
 * through the page and through the API with the page's own session cookie.
 */
import { readFileSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ORG_YAML, startTestBursar, type TestBursar } from '../helpers/bursar.js';
import { launchBrowser } from '../helpers/browser.js';
import { decimalText } from '../../src/core/money.js';

const YAML = `${ORG_YAML.replace('{ id: alice, department: marketing', '{ id: alice, email: alice@acme.example, department: marketing')}
routes:
  - { id: writing, tiers: { premium: gpt-4o, standard: gpt-4o-mini }, default_tier: premium, downgrade: [{ at: 90, to: standard }] }
budgets:
  - { id: company, name: Company monthly, window: month, limit: { amount: "500.00", currency: USD }, owner: carol }
  - { id: marketing-prod, name: Marketing production, scope: { department: marketing }, window: month, limit: { amount: "100.00", currency: USD }, owner: alice }
  - { id: support-prod, name: Support production, scope: { department: support }, window: month, limit: { amount: "0.0002", currency: USD }, enforcement: hard, owner: bob }
`;

let t: TestBursar;
let browser: Browser;
const tokens: Record<string, string> = {};
let marketingKey: { secret: string; id: string };
let supportKey: { secret: string; id: string };
let overrideId: string;

async function token(label: string, role: string, extra: Record<string, string> = {}): Promise<string> {
  const r = await t.admin<{ secret: string }>('POST', '/tokens', { label, role, ...extra });
  expect(r.status).toBe(201);
  return r.body.secret;
}

async function signIn(secret: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  await page.goto(t.url);
  await page.getByLabel('Admin token').fill(secret);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('who').waitFor();
  return { context, page };
}

const view = async (page: Page, name: string) => {
  await page.getByRole('navigation', { name: 'Views' }).getByRole('link', { name }).click();
  await page.getByRole('heading', { level: 1 }).first().waitFor();
};

beforeAll(async () => {
  t = await startTestBursar({ yaml: YAML });
  browser = await launchBrowser();
  tokens.admin = await token('ada', 'admin');
  tokens.finance = await token('carol', 'finance');
  tokens.manager = await token('alice', 'manager', { department: 'marketing' });
  tokens.member = await token('bob', 'member', { department: 'support', user: 'bob' });

  marketingKey = await t.key({ label: 'campaign-bot', department: 'marketing', project: 'campaign-ai', user: 'alice' });
  const support = supportKey = await t.key({ label: 'support-bot', department: 'support', project: 'support-bot', user: 'bob' });
  const agent = { 'x-bursar-workflow': 'campaign-copy', 'x-bursar-agent': 'copywriter', 'x-bursar-agent-run': 'run-1' };
  for (let i = 0; i < 3; i++) {
    await t.openai(marketingKey.secret, agent).chat.completions.create({ model: 'route:writing', messages: [{ role: 'user', content: `Write tagline ${i}` }], max_tokens: 30 });
  }
  // The support budget is tiny: calls go through until one is refused, and bob asks for more.
  let refused = 0;
  for (let i = 0; i < 30 && !refused; i++) {
    await t.openai(support.secret, { 'x-bursar-workflow': 'replies' }).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 50 })
      .catch((e: { status: number }) => { refused = e.status; });
  }
  expect(refused).toBe(429);
  const ask = await t.admin<{ id: string }>('POST', '/budgets/support-prod/overrides', { amount: '5.00', reason: 'Launch week' }, tokens.member);
  expect(ask.status).toBe(201);
  overrideId = ask.body.id;
  await t.settled();
});
afterAll(async () => {
  await browser?.close();
  await t?.close();
});

describe('dashboard', () => {
  it('refuses a wrong token on the sign-in page, with the reason', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(t.url);
    await page.getByLabel('Admin token').fill('bat_not-a-real-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toMatch(/unknown or revoked/);
    await context.close();
  });

  it('totals the overview from the ledger exactly, in the organisation\'s currency', async () => {
    const o = (await t.admin<{ currency: string; totals: { month_to_date: string }; by_department: { department: string; cost: string }[]; trend: { day: string; gateway: string }[] }>('GET', '/reports/overview')).body;
    const lines = await t.lines();
    const sum = (f: (l: (typeof lines)[number]) => boolean) => decimalText(lines.filter(f).reduce((a, l) => a + l.orgCostNano, 0n));
    expect(o.currency).toBe('USD');
    expect(o.totals.month_to_date).toBe(sum(() => true));
    expect(o.by_department.find((d) => d.department === 'marketing')?.cost).toBe(sum((l) => l.dims.department === 'marketing'));
    expect(o.trend.map((d) => d.day)).toEqual([...o.trend.map((d) => d.day)].sort());
  });

  it('shows every view to an admin, with what the traffic made', async () => {
    const { context, page } = await signIn(tokens.admin!);
    // Overview: this month's spend and each department's row against its budget.
    await page.getByRole('table', { name: 'Departments' }).waitFor();
    const departments = await page.getByRole('table', { name: 'Departments' }).innerText();
    expect(departments).toMatch(/marketing/);
    expect(departments).toMatch(/support/);
    expect(await page.locator('[data-figure^="Spend this month"] .value').innerText()).toMatch(/^US\$\d/);
    expect(await page.locator('svg.recharts-surface').count()).toBeGreaterThan(0);

    await view(page, 'Budgets');
    const budgets = await page.getByRole('table', { name: 'Budgets' }).innerText();
    expect(budgets).toMatch(/Marketing production/);
    expect(budgets).toMatch(/Support production/);
    await page.getByRole('table', { name: 'Budgets' }).getByText('Marketing production').click();
    await page.getByRole('region', { name: 'Budget: Marketing production' }).getByRole('table', { name: 'Members' }).waitFor();

    await view(page, 'Drill-down');
    const top = page.getByRole('table', { name: 'Spend by department' });
    await top.getByText('marketing').click();
    await page.getByRole('table', { name: 'Spend by project' }).getByText('campaign-ai').click();
    await page.getByRole('table', { name: 'Spend by workflow' }).getByText('campaign-copy').click();
    await page.getByRole('table', { name: 'Spend by user' }).getByText('alice').click();
    expect(await page.getByRole('table', { name: 'Spend by model' }).innerText()).toMatch(/gpt-4o/);

    await view(page, 'Models');
    expect(await page.getByRole('table', { name: 'Models' }).innerText()).toMatch(/gpt-4o-mini/);
    expect(await page.locator('[data-figure="Premium-tier share of spend"] .value').innerText()).toMatch(/%$/);

    await view(page, 'Agents');
    const agents = await page.getByRole('table', { name: 'Agents' }).innerText();
    expect(agents).toMatch(/copywriter/);
    expect(agents).toMatch(/run-1 \(3\)/);

    await view(page, 'Outcomes');
    expect(await page.getByRole('table', { name: 'Unit economics' }).innerText()).toMatch(/campaign-copy/);

    await view(page, 'Alerts');
    expect(await page.getByRole('table', { name: 'Budget alerts' }).innerText()).toMatch(/support-prod/);

    await view(page, 'Keys');
    expect(await page.getByRole('table', { name: 'Keys' }).innerText()).toMatch(/campaign-bot/);

    await view(page, 'Audit log');
    await expect(page.getByTestId('chain').innerText()).resolves.toMatch(/intact/);
    expect(await page.getByRole('table', { name: 'Audit entries' }).innerText()).toMatch(/key\.create/);
    await context.close();
  });

  it('lets a budget owner approve an override, and the budget can pay again', async () => {
    const { context, page } = await signIn(tokens.admin!);
    await view(page, 'Budgets');
    const row = page.getByRole('table', { name: 'Overrides' }).getByRole('row').filter({ hasText: 'Launch week' });
    await row.getByRole('button', { name: 'Approve' }).click();
    await expect(page.getByRole('status').first().innerText()).resolves.toMatch(/approved/);
    const overrides = (await t.admin<{ data: { id: string; state: string; decided_by: string }[] }>('GET', '/overrides')).body.data;
    expect(overrides.find((o) => o.id === overrideId)).toMatchObject({ state: 'approved', decided_by: 'ada' });
    const again = await t.openai(supportKey.secret).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 50 });
    expect(again.choices[0]?.message.content).toBeTruthy();
    await context.close();
  });

  it('revokes a key, and the next call with it is refused', async () => {
    const { context, page } = await signIn(tokens.admin!);
    await view(page, 'Keys');
    page.once('dialog', (d) => void d.accept());
    await page.getByRole('table', { name: 'Keys' }).getByRole('row').filter({ hasText: 'campaign-bot' }).getByRole('button', { name: 'Revoke' }).click();
    await expect(page.getByRole('status').first().innerText()).resolves.toMatch(/revoked/);
    const refused = await t.openai(marketingKey.secret).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }] }).then(() => null, (e: { status: number }) => e);
    expect(refused?.status).toBe(401);
    await context.close();
  });

  it('runs an allocation and downloads a department statement', async () => {
    const { context, page } = await signIn(tokens.finance!);
    await view(page, 'Chargeback');
    await page.getByLabel('Period to allocate').fill(new Date().toISOString().slice(0, 7));
    await page.getByRole('button', { name: 'Run allocation' }).click();
    const statements = page.getByRole('table', { name: 'Statements' });
    await statements.waitFor();
    const download = page.waitForEvent('download');
    await statements.getByRole('row').filter({ hasText: 'marketing' }).getByRole('link', { name: 'CSV' }).click();
    const csv = readFileSync((await (await download).path())!, 'utf8');
    expect(csv.split('\n')[0]).toMatch(/^run,period,status,department,cost_centre/);
    expect(csv).toMatch(/marketing,MKTG/);
    expect(csv).not.toMatch(/support,SUPP/);
    await context.close();
  });

  it('keeps a manager to their department, on the page and through the API', async () => {
    const { context, page } = await signIn(tokens.manager!);
    await page.getByRole('table', { name: 'Departments' }).waitFor();
    const departments = await page.getByRole('table', { name: 'Departments' }).innerText();
    expect(departments).toMatch(/marketing/);
    expect(departments).not.toMatch(/support/);
    const nav = await page.getByRole('navigation', { name: 'Views' }).innerText();
    expect(nav).not.toMatch(/Audit log|Chargeback/);
    await page.goto(`${t.url}/#/audit`);
    await expect(page.getByText('not open to the manager role').innerText()).resolves.toMatch(/manager/);
    // The page's own cookie, asking the API for another department's data directly.
    const asked = await page.evaluate(async () => {
      const usage = await (await fetch('/admin/v1/usage?group_by=department&department=support')).json() as { rows: unknown[] };
      const audit = await fetch('/admin/v1/audit');
      const budget = await fetch('/admin/v1/budgets/support-prod');
      return { rows: usage.rows.length, audit: audit.status, budget: budget.status };
    });
    expect(asked).toEqual({ rows: 0, audit: 403, budget: 404 });
    await context.close();
  });

  it('keeps a member to their own usage, and refuses a cookie change without the dashboard header', async () => {
    const { context, page } = await signIn(tokens.member!);
    const mine = await page.evaluate(async () => ((await (await fetch('/admin/v1/usage?group_by=user')).json()) as { rows: { group: { user: string } }[] }).rows.map((r: { group: { user: string } }) => r.group.user));
    expect(mine).toEqual(['bob']);
    // The org tree is everyone's; people's email addresses are not.
    const emails = await page.evaluate(async () => ((await (await fetch('/admin/v1/org')).json()) as { users: { id: string; email: string | null }[] }).users.map((u) => u.email));
    expect(emails.every((e) => e === null)).toBe(true);
    expect((await t.admin<{ users: { id: string; email: string | null }[] }>('GET', '/org')).body.users.find((u) => u.id === 'alice')?.email).toBe('alice@acme.example');
    const forged = await page.evaluate(async () => (await fetch('/admin/v1/budgets/support-prod/overrides', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ amount: '1', reason: 'x' }) })).status);
    expect(forged).toBe(403);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Admin token').waitFor();
    expect((await context.cookies()).find((c) => c.name === 'bursar_session')).toBeUndefined();
    await context.close();
  });
});
