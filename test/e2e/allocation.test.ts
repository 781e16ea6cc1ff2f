/**
 * Allocation runs end to end: gateway calls and imported costs of a month, allocated by rules of
 * every kind (proportional to headcount and to tokens, fixed split, beneficiary, internal price,
 * direct, and what no rule covers), summed into statements that add up to the ledger exactly,
 * showback for sandbox work, finalised runs immutable and corrected by new runs, statements the
 * same bytes every time and safe in a spreadsheet, and a drill-down to the lines.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse as parseCsv } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decimalText, parseDecimal, roundToMinor } from '../../src/core/money.js';
import type { RunBody } from '../../src/billing/runs.js';
import { ORG_YAML, startTestBursar, type TestBursar } from '../helpers/bursar.js';
import { CLI } from '../helpers/process.js';

const run = promisify(execFile);
const now = new Date();
const PERIOD = `${now.getUTCFullYear()}-${String(now.getUTCMonth() + 1).padStart(2, '0')}`;
const DAY1 = `${PERIOD}-01`;

const YAML = `${ORG_YAML.replace('cost_centre: SUPP\n', 'cost_centre: SUPP\n    currency: GBP\n')}
fx:
  - { from: USD, to: GBP, rate: "0.8", effective_from: "2026-01-01" }
headcount: { marketing: 40, support: 60, platform: 0, finance: 0 }
billing: { gl: { expense_account: "6400", clearing_account: "2400", accounts: { marketing: "6410" } } }
budgets:
  - { id: finance-sandbox, name: Finance sandbox, scope: { department: finance }, window: month, limit: { amount: "100", currency: USD }, category: sandbox }
allocation_rules:
  - { id: seats, match: { source: import, kind: seat }, method: proportional, driver: headcount }
  - { id: platform-fee, match: { kind: platform_fee }, method: fixed, split: { marketing: "50", support: "30", platform: "20" } }
  - { id: gpu, match: { kind: gpu_hours }, method: proportional, driver: tokens, among: [marketing, support] }
  - { id: bot-benefit, match: { project: support-bot }, method: beneficiary, share: "30", among: [marketing] }
  - { id: priced, match: { source: gateway, workflow: priced }, method: internal_price, price: { per: call, amount: "0.01", markup_percent: "10" }, recovers_to: platform }
`;

let t: TestBursar;
let dir: string;
beforeAll(async () => {
  t = await startTestBursar({ yaml: YAML });
  dir = mkdtempSync(join(tmpdir(), 'bursar-alloc-'));
});
afterAll(() => t.close());

const upload = (csv: string) =>
  fetch(`${t.url}/admin/v1/imports?format=csv`, { method: 'POST', headers: { authorization: `Bearer ${t.adminToken}`, 'content-type': 'text/csv' }, body: csv });
const cli = (...args: string[]) => run(process.execPath, [CLI, ...args], { env: { ...process.env, BURSAR_URL: t.url, BURSAR_TOKEN: t.adminToken } });
const ask = async (secret: string, headers: Record<string, string> = {}) =>
  t.openai(secret, headers).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Summarise the quarter.' }], max_tokens: 60 });

describe('allocation runs', () => {
  let first: RunBody;

  it('allocate a month by every kind of rule, and add up to the ledger exactly', async () => {
    const mkt = await t.key({ department: 'marketing', project: 'campaign-ai' });
    const sup = await t.key({ department: 'support', project: 'support-bot' });
    const fin = await t.key({ department: 'finance' });
    for (let i = 0; i < 3; i++) await ask(mkt.secret);
    await ask(sup.secret);
    await ask(fin.secret); // a sandbox budget covers finance: showback
    await ask(mkt.secret, { 'x-bursar-workflow': 'priced' });
    const csv = `date,kind,description,amount,currency,department,tags
${DAY1},seat,Copilot seats,1000,USD,,
${DAY1},platform_fee,Vector database,99.99,USD,,
${DAY1},gpu_hours,Cluster,10.00,USD,,
${DAY1},other,"=HYPERLINK(""http://x"")",7.77,USD,,
`;
    expect((await upload(csv)).status).toBe(201);
    await t.settled();

    const r = await t.admin<RunBody>('POST', '/allocations/runs', { period: PERIOD });
    expect(r.status).toBe(201);
    first = r.body;
    const lines = (await t.lines()).filter((l) => l.ts >= Date.parse(first.from) && l.ts < Date.parse(first.to));
    const ledgerTotal = lines.reduce((a, l) => a + l.orgCostNano, 0n);
    // Conservation: the statement's exact amounts add up to the ledger, and its rounded rows to the rounded total.
    expect(parseDecimal(first.source_total)).toBe(ledgerTotal);
    expect(first.statement.reduce((a, s) => a + parseDecimal(s.amount), 0n)).toBe(ledgerTotal);
    expect(first.statement.reduce((a, s) => a + parseDecimal(s.rounded), 0n)).toBe(parseDecimal(first.source_total_rounded));
    expect(first.lines).toBe(lines.filter((l) => l.orgCostNano !== 0n).length);

    const row = (department: string | null, rule: string) => first.statement.find((s) => s.department === department && s.rule === rule);
    // Seats by headcount (40:60); the platform fee 50/30/20; each exact.
    expect(row('marketing', 'seats')!.amount).toBe('400');
    expect(row('support', 'seats')!.amount).toBe('600');
    expect([row('marketing', 'platform-fee')!.amount, row('support', 'platform-fee')!.amount, row('platform', 'platform-fee')!.amount]).toEqual(['49.995', '29.997', '19.998']);
    // GPU hours by the tokens each department used through the gateway in the month.
    const tokens = (dept: string) => lines.filter((l) => l.source === 'gateway' && l.dims.department === dept).reduce((a, l) => a + l.tokens.input + l.tokens.output, 0);
    const gpuMkt = parseDecimal(row('marketing', 'gpu')!.amount);
    expect(gpuMkt + parseDecimal(row('support', 'gpu')!.amount)).toBe(10_000_000_000n);
    expect(Number(gpuMkt) / 1e10).toBeCloseTo(tokens('marketing') / (tokens('marketing') + tokens('support')), 6);
    // The support bot's calls: 70% stays with support, 30% to marketing, which benefits.
    const bot = lines.filter((l) => l.dims.project === 'support-bot').reduce((a, l) => a + l.orgCostNano, 0n);
    expect(parseDecimal(row('support', 'bot-benefit')!.amount) + parseDecimal(row('marketing', 'bot-benefit')!.amount)).toBe(bot);
    // The priced call: marketing pays 0.011 (0.01 + 10%); the platform carries the difference from its actual cost.
    const priced = lines.find((l) => l.dims.workflow === 'priced')!;
    expect(row('marketing', 'priced')!.amount).toBe('0.011');
    expect(parseDecimal(row('platform', 'priced')!.amount)).toBe(priced.orgCostNano - 11_000_000n);
    // Finance's sandbox calls are showback; a cost no rule places and no department owns is unallocated, with why.
    expect(row('finance', 'direct')!.mode).toBe('showback');
    expect(first.departments.find((d) => d.department === 'finance')).toMatchObject({ chargeback: '0.00' });
    expect(first.unallocated).toMatchObject({ amount: '7.77', lines: 1, reasons: { 'no rule matches the line, and it names no department': 1 } });
    // Support's statement is in its own currency too, at the rate in force, each amount converted and rounded.
    const support = first.departments.find((d) => d.department === 'support')!;
    const gbp = (usd: string) => decimalText(roundToMinor((parseDecimal(usd) * 8n) / 10n, 'GBP'), 2);
    expect(support.local).toEqual({ currency: 'GBP', fx_rate: '0.8', chargeback: gbp(support.chargeback), showback: gbp(support.showback), total: decimalText(parseDecimal(gbp(support.chargeback)) + parseDecimal(gbp(support.showback)), 2) });
    expect(first.departments.find((d) => d.department === 'marketing')!.local).toMatchObject({ currency: 'USD', fx_rate: '1' });
  });

  it('give the same statement bytes every time, safe in a spreadsheet, with a drill-down that adds up', async () => {
    const a = await fetch(`${t.url}/admin/v1/allocations/runs/${first.id}/statement?format=csv`, { headers: { authorization: `Bearer ${t.adminToken}` } });
    const b = await fetch(`${t.url}/admin/v1/allocations/runs/${first.id}/statement?format=csv`, { headers: { authorization: `Bearer ${t.adminToken}` } });
    const text = await a.text();
    expect(text).toBe(await b.text());
    expect(text.split('\n')[0]).toBe('run,period,status,department,cost_centre,project,project_code,mode,rule,method,lines,currency,amount,amount_rounded');
    // A second run of the same month, the same rules and ledger: the same statement.
    const again = (await t.admin<RunBody>('POST', '/allocations/runs', { period: PERIOD })).body;
    expect(again.statement).toEqual(first.statement);
    expect(again.ledger_digest).toBe(first.ledger_digest);
    expect((await t.admin('DELETE', `/allocations/runs/${again.id}`)).status).toBe(204);

    // The drill-down: marketing's parts, line by line, sum to its statement rows; a formula in a description is defused.
    const out = join(dir, 'marketing.csv');
    writeFileSync(out, (await cli('allocations', 'lines', first.id, '--department', 'marketing')).stdout);
    const rows = readFileSync(out, 'utf8').trim().split('\n').slice(1);
    const parts = rows.map((r) => parseDecimal(r.split(',').at(-2)!));
    const stated = first.statement.filter((s) => s.department === 'marketing').reduce((x, s) => x + parseDecimal(s.amount), 0n);
    expect(parts.reduce((x, y) => x + y, 0n)).toBe(stated);
    const unalloc = (await cli('allocations', 'lines', first.id, '--department', 'unallocated')).stdout;
    expect(unalloc).toContain(`"'=HYPERLINK(""http://x"")"`);
    // A page to read: a chart, the amounts in the department's currency with the rate, no scripts.
    const html = join(dir, 'support.html');
    await cli('allocations', 'statement', first.id, '--department', 'support', '--html', '-o', html);
    const page = readFileSync(html, 'utf8');
    expect(page).toMatch(/^<!doctype html>/);
    expect(page).toContain('<h1>Customer Support: AI costs');
    expect(page).toContain('<svg role="img"');
    expect(page).toMatch(/In GBP at 0\.8 per USD/);
    for (const rule of ['seats', 'platform-fee', 'gpu', 'bot-benefit']) expect(page).toContain(`>${rule}<`);
    expect(page).not.toContain('<script');
    expect(await (await fetch(`${t.url}/admin/v1/allocations/runs/${first.id}/statement?format=html`, { headers: { authorization: `Bearer ${t.adminToken}` } })).text()).toContain('Unallocated</td>');
    // The CLI writes a department's statement to a file.
    const file = join(dir, 'support.csv');
    await cli('allocations', 'statement', first.id, '--department', 'support', '-o', file);
    expect(readFileSync(file, 'utf8')).toMatch(/support,SUPP,,,chargeback,seats,proportional,1,USD,600,600\.00/);
    expect(readFileSync(file, 'utf8')).toMatch(/support,SUPP,support-bot,SUPP-AI-001,chargeback,bot-benefit,beneficiary,1,USD,/);
  });

  it('finalise runs immutably; a late cost needs a correction run that names the one it corrects', async () => {
    const fin = await t.admin<RunBody>('POST', `/allocations/runs/${first.id}/finalize`);
    expect(fin.body).toMatchObject({ status: 'final', finalized_by: expect.any(String) });
    expect((await t.admin('POST', `/allocations/runs/${first.id}/finalize`)).status).toBe(409);
    expect((await t.admin('DELETE', `/allocations/runs/${first.id}`)).status).toBe(409);

    // A late import into the month: the final run's drill-down says the ledger changed, and a correction takes it in.
    expect((await upload(`date,kind,amount,currency,department,project\n${DAY1},other,5,USD,platform,ai-platform\n`)).status).toBe(201);
    const stale = await t.admin<{ error: { code: string; message: string } }>('GET', `/allocations/runs/${first.id}/lines?department=platform`);
    expect(stale.body.error).toMatchObject({ code: 'conflict', message: expect.stringContaining(`with corrects: ${first.id}`) });
    const fix = (await cli('allocations', 'run', PERIOD, '--corrects', first.id, '--json')).stdout;
    const corrected = JSON.parse(fix) as RunBody;
    expect(corrected).toMatchObject({ corrects: first.id, status: 'draft' });
    expect(parseDecimal(corrected.source_total) - parseDecimal(first.source_total)).toBe(5_000_000_000n);
    expect(decimalText(parseDecimal(corrected.departments.find((d) => d.department === 'platform')!.total) - parseDecimal(first.departments.find((d) => d.department === 'platform')!.total))).toBe('5');
    // Its journal reverses the corrected run's entries, then books itself; every entry balances.
    const csvText = (await cli('allocations', 'journal', corrected.id)).stdout;
    const [head, ...jrows] = parseCsv(csvText) as string[][];
    expect(head).toEqual(['external_id', 'entry', 'date', 'period', 'account', 'cost_centre', 'project_code', 'debit', 'credit', 'currency', 'memo', 'reverses']);
    const col = (name: string) => head!.indexOf(name);
    const byEntry = new Map<string, { debit: bigint; credit: bigint; reverses: string }>();
    for (const r of jrows) {
      const e = byEntry.get(r[col('entry')]!) ?? { debit: 0n, credit: 0n, reverses: r[col('reverses')]! };
      e.debit += r[col('debit')] ? parseDecimal(r[col('debit')]!) : 0n;
      e.credit += r[col('credit')] ? parseDecimal(r[col('credit')]!) : 0n;
      byEntry.set(r[col('entry')]!, e);
    }
    for (const e of byEntry.values()) expect(e.debit).toBe(e.credit);
    const reversals = [...byEntry.values()].filter((e) => e.reverses === first.id);
    const bookings = [...byEntry.values()].filter((e) => e.reverses === '');
    const chargeback = (r: RunBody) => r.departments.reduce((a, d) => a + parseDecimal(d.chargeback), 0n);
    expect(reversals.reduce((a, e) => a + e.debit, 0n)).toBe(chargeback(first));
    expect(bookings.reduce((a, e) => a + e.debit, 0n)).toBe(chargeback(corrected));
    expect(jrows.some((r) => r[col('account')] === '6410' && r[col('cost_centre')] === 'MKTG' && r[col('reverses')] === '')).toBe(true);
    expect(jrows.some((r) => r[col('project_code')] === 'PLAT-AI-001' && r[col('cost_centre')] === 'PLAT' && r[col('debit')] === '5.00')).toBe(true);

    const audit = (await t.admin<{ data: { action: string }[] }>('GET', `/audit?target=allocation_run:${first.id}`)).body.data.map((e) => e.action);
    expect(audit).toEqual(['allocation_run.create', 'allocation_run.finalize']);
  });

  it('take rules and driver metrics through the API (finance may), refusing rules that cannot conserve', async () => {
    const finance = (await t.admin<{ secret: string }>('POST', '/tokens', { label: 'fiona-finance', role: 'finance' })).body.secret;
    const bad = await t.admin<{ error: { param: string; message: string } }>('POST', '/allocations/rules', { id: 'bad', method: 'fixed', split: { marketing: '60', support: '30' } }, finance);
    expect(bad.body.error).toMatchObject({ param: 'split', message: expect.stringContaining('not 100') });
    expect((await t.admin('POST', '/allocations/rules', { id: 'x', method: 'even', among: ['legal'] }, finance)).status).toBe(400);
    const created = await t.admin('POST', '/allocations/rules', { id: 'by-revenue', order: 1, match: { kind: 'other' }, method: 'proportional', driver: 'metric:revenue' }, finance);
    expect(created.status).toBe(201);
    expect((await t.admin('POST', '/allocations/metrics', { name: 'revenue', period: PERIOD, values: { marketing: '3000000', support: '1000000' } }, finance)).status).toBe(201);
    const listed = (await cli('allocations', 'rules')).stdout;
    expect(listed).toMatch(/1\s+│\s+by-revenue\s+│\s+proportional/);
    const r = (await t.admin<RunBody>('POST', '/allocations/runs', { period: PERIOD }, finance)).body;
    const other = r.statement.filter((s) => s.rule === 'by-revenue');
    // 7.77 + 5 of "other" costs, 3:1 by revenue.
    expect(Object.fromEntries(other.map((s) => [s.department, s.amount]))).toEqual({ marketing: '9.5775', support: '3.1925' });
    expect(r.unallocated.amount).toBe('0.00');
    // Members cannot run allocations.
    const member = (await t.admin<{ secret: string }>('POST', '/tokens', { label: 'bob-m', role: 'member', user: 'bob' })).body.secret;
    expect((await t.admin('POST', '/allocations/runs', { period: PERIOD }, member)).status).toBe(403);
  });

  it('smooth a commitment over months, bringing earlier months\' shares forward, and fund sandbox draws from a pool', async () => {
    const finance = (await t.admin<{ secret: string }>('POST', '/tokens', { label: 'fin-2', role: 'finance' })).body.secret;
    expect((await t.admin('POST', '/allocations/rules', { id: 'commitment', order: 0, match: { kind: 'other', tags: { commitment: 'annual' } }, method: 'even', among: ['marketing', 'support'], smooth_months: 12 }, finance)).status).toBe(201);
    expect((await t.admin('POST', '/allocations/rules', { id: 'sandbox-pool', order: 0, match: { budget_category: 'sandbox' }, method: 'pool', among: ['marketing', 'support'] }, finance)).status).toBe(201);
    const prev = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1)).toISOString().slice(0, 10);
    expect((await upload(`date,kind,amount,currency,department,tags\n${prev},other,1200,USD,platform,commitment=annual\n${DAY1},other,1200.12,USD,platform,commitment=annual\n`)).status).toBe(201);
    const r = (await t.admin<RunBody>('POST', '/allocations/runs', { period: PERIOD }, finance)).body;
    // This month's 1200.12 gives a twelfth now (100.01) and defers the rest; last month's 1200 brings its second twelfth (100).
    expect(r.deferred).toEqual({ amount: '1100.11', lines: 1 });
    expect(r.brought_forward).toEqual({ amount: '100', lines: 1 });
    const commitment = r.statement.filter((s) => s.rule === 'commitment').reduce((a, s) => a + parseDecimal(s.amount), 0n);
    expect(commitment).toBe(200_010_000_000n);
    // Conservation across months: the month's ledger, less what is deferred, plus what is brought forward, is what the statement allocates.
    expect(parseDecimal(r.ledger_total) - parseDecimal(r.deferred.amount) + parseDecimal(r.brought_forward.amount)).toBe(parseDecimal(r.source_total));
    // Finance's sandbox calls draw on the pool, funded 40:60 by marketing and support's headcount.
    const pool = r.statement.filter((s) => s.rule === 'sandbox-pool');
    expect(pool.map((s) => s.department).sort()).toEqual(['marketing', 'support']);
    const m = parseDecimal(pool.find((s) => s.department === 'marketing')!.amount);
    const sp = parseDecimal(pool.find((s) => s.department === 'support')!.amount);
    expect(Number(m) / Number(m + sp)).toBeCloseTo(0.4, 6);
    expect(r.statement.some((s) => s.department === 'finance' && s.rule === 'direct')).toBe(false);
  });
});
