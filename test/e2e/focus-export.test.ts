/**
 * The FOCUS export, checked against the FOCUS 1.2 rules a consumer relies on: every mandatory
 * column present and non-null where the spec says so, UTC second-precision dates with exclusive
 * ends, plain decimals, allowed values, the null rules of consumed and pricing quantities, custom
 * columns prefixed x_, tags a JSON object of scalars; costs that add up to the ledger; and, with
 * an allocation run, FOCUS 1.3 allocation columns on rows whose costs add up to each line.
 */
import { parse as parseCsv } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDecimal } from '../../src/core/money.js';
import type { RunBody } from '../../src/billing/runs.js';
import { ORG_YAML, startTestBursar, type TestBursar } from '../helpers/bursar.js';

const now = new Date();
const PERIOD = `${now.getUTCFullYear()}-${String(now.getUTCMonth() + 1).padStart(2, '0')}`;

let t: TestBursar;
beforeAll(async () => {
  t = await startTestBursar({
    yaml: `${ORG_YAML}
allocation_rules:
  - { id: seats, match: { kind: seat }, method: even, among: [marketing, support, platform] }
`,
  });
});
afterAll(() => t.close());

const MANDATORY = ['BilledCost', 'BillingAccountId', 'BillingAccountName', 'BillingCurrency', 'BillingPeriodEnd', 'BillingPeriodStart', 'ChargeCategory', 'ChargeClass', 'ChargeDescription', 'ChargePeriodEnd', 'ChargePeriodStart', 'ContractedCost', 'EffectiveCost', 'InvoiceIssuerName', 'ListCost', 'PricingQuantity', 'PricingUnit', 'ProviderName', 'PublisherName', 'ServiceCategory', 'ServiceName'];
const NOT_NULL = ['BilledCost', 'BillingAccountId', 'BillingCurrency', 'BillingPeriodEnd', 'BillingPeriodStart', 'ChargeCategory', 'ChargePeriodEnd', 'ChargePeriodStart', 'ContractedCost', 'EffectiveCost', 'InvoiceIssuerName', 'ListCost', 'ProviderName', 'PublisherName', 'ServiceCategory', 'ServiceName'];
const SERVICE_CATEGORIES = ['AI and Machine Learning', 'Analytics', 'Business Applications', 'Compute', 'Databases', 'Developer Tools', 'Multicloud', 'Identity', 'Integration', 'Internet of Things', 'Management and Governance', 'Media', 'Migration', 'Mobile', 'Networking', 'Security', 'Storage', 'Web', 'Other'];
const DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
const DECIMAL = /^-?\d+(\.\d+)?$/;

const get = async (path: string) => {
  const r = await fetch(`${t.url}/admin/v1${path}`, { headers: { authorization: `Bearer ${t.adminToken}` } });
  expect(r.status).toBe(200);
  return parseCsv(await r.text(), { columns: true }) as Record<string, string>[];
};

/** Every FOCUS 1.2 rule the export must keep, on every row. */
function conforms(rows: Record<string, string>[]): void {
  const header = Object.keys(rows[0]!);
  for (const c of MANDATORY) expect(header).toContain(c);
  const known = new Set([...MANDATORY, 'ChargeFrequency', 'ConsumedQuantity', 'ConsumedUnit', 'PricingCategory', 'SkuId', 'SkuPriceId', 'SubAccountId', 'SubAccountName', 'Tags', 'AllocatedMethodId', 'AllocatedMethodDetails', 'AllocatedResourceId', 'AllocatedResourceName', 'AllocatedTags']);
  for (const c of header) if (!known.has(c)) expect(c).toMatch(/^x_/);
  for (const r of rows) {
    for (const c of NOT_NULL) expect(r[c], `${c} of ${r.x_LedgerLineId}`).not.toBe('');
    for (const c of ['ChargePeriodStart', 'ChargePeriodEnd', 'BillingPeriodStart', 'BillingPeriodEnd']) expect(r[c]).toMatch(DATE);
    expect(Date.parse(r.ChargePeriodEnd!)).toBeGreaterThan(Date.parse(r.ChargePeriodStart!));
    expect(Date.parse(r.ChargePeriodStart!)).toBeGreaterThanOrEqual(Date.parse(r.BillingPeriodStart!));
    for (const c of ['BilledCost', 'EffectiveCost', 'ListCost', 'ContractedCost', 'PricingQuantity']) expect(r[c]).toMatch(DECIMAL);
    expect(['Usage', 'Purchase', 'Tax', 'Credit', 'Adjustment']).toContain(r.ChargeCategory);
    expect(r.ChargeClass).toBe('');
    expect(SERVICE_CATEGORIES).toContain(r.ServiceCategory);
    expect(['One-Time', 'Recurring', 'Usage-Based']).toContain(r.ChargeFrequency);
    if (r.ChargeCategory === 'Purchase') expect(r.ChargeFrequency).not.toBe('Usage-Based');
    // Consumed quantity only on usage; pricing quantity and unit together; SKUs and pricing category on usage and purchases.
    if (r.ChargeCategory === 'Usage') expect(r.ConsumedQuantity).toMatch(DECIMAL);
    else expect(r.ConsumedQuantity).toBe('');
    expect(r.ConsumedUnit === '').toBe(r.ConsumedQuantity === '');
    expect(r.PricingUnit === '').toBe(r.PricingQuantity === '');
    for (const c of ['SkuId', 'SkuPriceId', 'PricingCategory']) expect(r[c]).not.toBe('');
    expect(r.BillingCurrency).toMatch(/^[A-Z]{3}$/);
    if (r.Tags) for (const v of Object.values(JSON.parse(r.Tags) as Record<string, unknown>)) expect(['string', 'number', 'boolean']).toContain(typeof v);
  }
}

describe('the FOCUS export', () => {
  it('keeps the FOCUS 1.2 rules on every row, and adds up to the ledger per currency', async () => {
    const k = await t.key({ department: 'support', project: 'support-bot', tags: { ticket: '=cmd|calc' } });
    await t.openai(k.secret).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 20 });
    await t.anthropic(k.secret).messages.create({ model: 'claude-haiku-4-5', max_tokens: 20, messages: [{ role: 'user', content: 'Hi' }] });
    const csv = `date,end_date,kind,description,quantity,unit,unit_price,currency,department\n${PERIOD}-01,,seat,Copilot,10,seat,19,USD,\n${PERIOD}-01,,gpu_hours,Cluster,2.5,hour,4,USD,platform\n${PERIOD}-01,,other,"=SUM(A1:A9)",,,3,USD,platform\n`;
    expect((await fetch(`${t.url}/admin/v1/imports?format=csv`, { method: 'POST', headers: { authorization: `Bearer ${t.adminToken}` }, body: csv })).status).toBe(201);
    await t.settled();

    const rows = await get(`/exports/focus?from=${PERIOD}-01`);
    conforms(rows);
    const lines = (await t.lines()).filter((l) => l.costNano !== 0n && l.ts >= Date.parse(`${PERIOD}-01T00:00:00Z`));
    expect(rows.map((r) => r.x_LedgerLineId).sort()).toEqual(lines.map((l) => l.id).sort());
    const sum = (rs: Record<string, string>[]) => rs.reduce((a, r) => a + parseDecimal(r.BilledCost!), 0n);
    expect(sum(rows)).toBe(lines.reduce((a, l) => a + l.costNano, 0n));
    const call = rows.find((r) => r.ProviderName === 'Anthropic')!;
    expect(call).toMatchObject({ ServiceName: 'Messages', ServiceCategory: 'AI and Machine Learning', PricingUnit: 'Tokens', SkuId: 'claude-haiku-4-5', x_Department: 'support', x_ProjectCode: 'SUPP-AI-001', SubAccountId: 'support' });
    expect(Number(call.ConsumedQuantity)).toBe(Number(call.x_InputTokens) + Number(call.x_OutputTokens));
    expect(JSON.parse(call.Tags!)).toMatchObject({ department: 'support', project: 'support-bot', ticket: '=cmd|calc' });
    const seat = rows.find((r) => r.SkuId === 'seat')!;
    expect(seat).toMatchObject({ ChargeCategory: 'Purchase', ChargeFrequency: 'Recurring', ServiceCategory: 'Business Applications', PricingQuantity: '10', PricingUnit: 'seat', BilledCost: '190' });
    expect(rows.find((r) => r.SkuId === 'gpu_hours')).toMatchObject({ ConsumedQuantity: '2.5', ConsumedUnit: 'hour', BilledCost: '10' });
    // Safe to open in a spreadsheet: a cell that would be a formula is escaped.
    expect(rows.find((r) => r.SkuId === 'other')!.ChargeDescription).toBe("'=SUM(A1:A9)");
  });

  it('carries FOCUS 1.3 allocation columns on an allocation run\'s rows, which add up to each line', async () => {
    const run = (await t.admin<RunBody>('POST', '/allocations/runs', { period: PERIOD })).body;
    const rows = await get(`/exports/focus?run=${run.id}`);
    conforms(rows);
    const byLine = new Map<string, { sum: bigint; whole: bigint; ratio: number }>();
    for (const r of rows) {
      const e = byLine.get(r.x_LedgerLineId!) ?? { sum: 0n, whole: parseDecimal(r.x_CostInOrgCurrency!), ratio: 0 };
      e.sum += parseDecimal(r.BilledCost!);
      if (r.AllocatedMethodDetails) e.ratio += (JSON.parse(r.AllocatedMethodDetails) as { Elements: { AllocatedRatio: number }[] }).Elements[0]!.AllocatedRatio;
      byLine.set(r.x_LedgerLineId!, e);
    }
    for (const e of byLine.values()) {
      expect(e.sum).toBe(e.whole);
      expect(e.ratio).toBeCloseTo(1, 6);
    }
    const seats = rows.filter((r) => r.SkuId === 'seat');
    expect(seats.map((r) => r.AllocatedResourceId).sort()).toEqual(['marketing', 'platform', 'support']);
    // 190 in three, to the nano-unit: the exact parts (a statement rounds them to the cent).
    expect(seats.map((r) => r.BilledCost).sort()).toEqual(['63.333333333', '63.333333333', '63.333333334']);
    expect(seats[0]).toMatchObject({ AllocatedMethodId: 'seats:even', AllocatedTags: expect.stringContaining('"mode":"chargeback"') });
    // Lines kept by their own department are allocated to it (direct); none is left unallocated here.
    expect(rows.every((r) => r.AllocatedResourceId !== '')).toBe(true);
  });
});
