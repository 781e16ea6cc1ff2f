/**
 * Imports of costs that did not pass through the gateway, through the CLI and the admin API:
 * Bursar's CSV (seats, GPU hours), the OpenAI costs JSON, the Anthropic cost report, and FOCUS
 * files (CSV and Parquet). Each becomes ledger lines attributed to the org tree, exact to the
 * nano-unit; the same file twice adds nothing; a file with an error adds nothing and names the row.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LedgerLine } from '../../src/core/ledger.js';
import { ORG_YAML, startTestBursar, type TestBursar } from '../helpers/bursar.js';
import { CLI } from '../helpers/process.js';

const run = promisify(execFile);

let t: TestBursar;
let dir: string;
beforeAll(async () => {
  t = await startTestBursar({ yaml: `${ORG_YAML}\nfx:\n  - { from: GBP, to: USD, rate: "1.25", effective_from: "2026-01-01" }\n` });
  dir = mkdtempSync(join(tmpdir(), 'bursar-imports-'));
});
afterAll(() => t.close());

const file = (name: string, content: string | Buffer) => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};
const cli = (...args: string[]) => run(process.execPath, [CLI, ...args], { env: { ...process.env, BURSAR_URL: t.url, BURSAR_TOKEN: t.adminToken } });
const importLines = async (importId: string): Promise<LedgerLine[]> => (await t.lines()).filter((l) => l.importId === importId);
const upload = (query: string, body: string | Buffer, token = t.adminToken) =>
  fetch(`${t.url}/admin/v1/imports?${query}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' }, body });

const SEATS_CSV = `date,end_date,kind,description,quantity,unit,unit_price,currency,department,project,tags
2026-11-01,2026-12-01,seat,GitHub Copilot Business,1000,seat,30.00,USD,platform,,vendor=github
2026-11-01,2026-12-01,gpu_hours,Fine-tuning cluster,412.5,hour,2.4,USD,,campaign-ai,
2026-11-03,,human_review,Review of drafted replies,,,,GBP,support,,
`;

describe('imports', () => {
  it("read Bursar's CSV into attributed ledger lines, exactly, and add nothing the second time", async () => {
    const csv = SEATS_CSV.replace('2026-11-03,,human_review,Review of drafted replies,,,,GBP', '2026-11-03,,human_review,Review of drafted replies,1,,180.25,GBP');
    const path = file('seats.csv', csv);
    const first = JSON.parse((await cli('import', 'csv', path, '--json')).stdout) as { id: string; rows: number; added: number; totals: { currency: string; amount: string }[]; repeated: boolean };
    expect(first).toMatchObject({ rows: 3, added: 3, repeated: false, totals: [{ currency: 'GBP', amount: '180.25' }, { currency: 'USD', amount: '30990' }] });

    const lines = await importLines(first.id);
    const seat = lines.find((l) => l.endpoint === 'seat')!;
    expect(seat).toMatchObject({ source: 'import', costNano: 30_000_000_000_000n, currency: 'USD', spendCategory: 'embedded_saas', unit: 'seat', quantityNano: 1000_000_000_000n, description: 'GitHub Copilot Business', tags: { vendor: 'github' } });
    expect(seat.dims).toMatchObject({ department: 'platform', cost_centre: 'PLAT' });
    expect(seat.periodEnd! - seat.ts).toBe(30 * 86_400_000);
    const gpu = lines.find((l) => l.endpoint === 'gpu_hours')!;
    // 412.5 hours at 2.4: 990, with the project's department, team and code filled in.
    expect(gpu).toMatchObject({ costNano: 990_000_000_000n, spendCategory: 'production_inference' });
    expect(gpu.dims).toMatchObject({ project: 'campaign-ai', project_code: 'MKTG-AI-001', department: 'marketing', team: 'growth', cost_centre: 'MKTG' });
    const review = lines.find((l) => l.endpoint === 'human_review')!;
    expect(review).toMatchObject({ costNano: 180_250_000_000n, currency: 'GBP', orgCurrency: 'USD', orgCostNano: 225_312_500_000n });

    // The same file again: nothing added. The same rows in another file with one more: only that one.
    const again = JSON.parse((await cli('import', 'csv', path, '--json')).stdout) as { repeated: boolean; id: string };
    expect(again).toMatchObject({ repeated: true, id: first.id });
    const more = JSON.parse((await cli('import', 'csv', file('seats-and-more.csv', `${csv}2026-11-04,,platform_fee,Vector DB,,,99,USD,platform,,\n`), '--json')).stdout) as { added: number; already_present: number };
    expect(more).toMatchObject({ added: 1, already_present: 3 });

    // They show in the usage report, by source and kind.
    await t.settled();
    const usage = (await t.admin<{ rows: { group: Record<string, string | null>; cost: string; currency: string }[] }>('GET', '/usage?group_by=source,endpoint&from=2026-11-01&to=2026-12-01')).body;
    expect(usage.rows.find((r) => r.group.endpoint === 'seat')).toMatchObject({ group: { source: 'import' }, cost: '30000', currency: 'USD' });
    const listed = (await cli('imports')).stdout;
    expect(listed).toContain(first.id);
    expect(listed).toContain('seats.csv');
  });

  it('add nothing from a file with an error, and say which row and why', async () => {
    const before = (await t.lines()).length;
    const bad = `${SEATS_CSV.replace(',,GBP,support,,', ',180.25,GBP,support,,')}2026-11-05,,seat,Copilot,10,seat,30,USD,legal,,\n`;
    const err = await cli('import', 'csv', file('bad.csv', bad)).catch((e: { stderr: string }) => e);
    expect((err as { stderr: string }).stderr).toMatch(/line 5: department "legal" is not declared in bursar\.yaml\. Nothing was imported.*\[import_invalid\]/);
    for (const [content, message] of [
      ['date,kind,amount,currency\n2026-11-01,seat,12.5,usd\n2026-13-01,seat,1,USD\n', 'line 3: date "2026-13-01" is not a date'],
      ['date,kind,amount,currency\n2026-11-01,seats,1,USD\n', 'line 2: kind "seats" is not one of'],
      ['date,kind,amount,currency,colour\n2026-11-01,seat,1,USD,red\n', 'line 1: unknown column "colour"'],
      ['date,kind,amount,currency\n2026-11-01,seat,1.0000000001,USD\n', 'line 2: amount "1.0000000001" has more than nine decimal places'],
      ['date,kind,amount,currency\n2026-11-01,seat,5,EUR\n', 'line 2: no FX rate from EUR to USD'],
    ] as const) {
      const r = await upload('format=csv', content);
      expect(r.status).toBe(400);
      const body = (await r.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('import_invalid');
      expect(body.error.message).toContain(message);
    }
    expect((await t.lines()).length).toBe(before);
    // Only admins and finance import.
    const member = (await t.admin<{ secret: string }>('POST', '/tokens', { label: 'bob-member', role: 'member', user: 'bob' })).body.secret;
    expect((await upload('format=csv', SEATS_CSV, member)).status).toBe(403);
  });

  it('read the OpenAI costs JSON exactly, map its projects, skip buckets imported before and refuse revised ones', async () => {
    const bucket = (day: number, results: string) => `{"object":"bucket","start_time":${Date.UTC(2026, 10, day) / 1000},"end_time":${Date.UTC(2026, 10, day + 1) / 1000},"results":[${results}]}`;
    const result = (value: string, item: string, project: string | null) => `{"object":"organization.costs.result","amount":{"value":${value},"currency":"usd"},"line_item":"${item}","project_id":${project ? `"${project}"` : 'null'}}`;
    const page = (buckets: string[]) => `{"object":"page","data":[${buckets.join(',')}],"has_more":false,"next_page":null}`;
    const day1 = bucket(1, `${result('0.06', 'gpt-4o, input', 'proj_mkt')},${result('12.345678912', 'gpt-4o, output', 'proj_mkt')},${result('3', 'gpt-4o, input', null)}`);
    const r1 = (await (await upload('format=openai-costs&map=proj_mkt=campaign-ai', page([day1]))).json()) as { id: string; added: number; totals: unknown };
    expect(r1).toMatchObject({ added: 3, totals: [{ currency: 'USD', amount: '15.405678912' }] });
    const lines = await importLines(r1.id);
    expect(lines.find((l) => l.description === 'gpt-4o, output')).toMatchObject({ costNano: 12_345_678_912n, tags: { openai_project: 'proj_mkt' } });
    expect(lines.find((l) => l.description === 'gpt-4o, output')!.dims).toMatchObject({ provider: 'openai', project: 'campaign-ai', department: 'marketing' });
    expect(lines.find((l) => l.tags === null)!.dims.department).toBeNull();

    // A later export repeats day 1 and adds day 2: only day 2 is new.
    const day2 = bucket(2, result('1.5', 'gpt-4o, input', null));
    const r2 = (await (await upload('format=openai-costs&map=proj_mkt=campaign-ai', `[${page([day1])},${page([day2])}]`)).json()) as { added: number; already_present: number };
    expect(r2).toMatchObject({ added: 1, already_present: 3 });
    // A revised day 1: refused, naming the bucket; nothing added.
    const before = (await t.lines()).length;
    const revised = await upload('format=openai-costs&map=proj_mkt=campaign-ai', page([bucket(1, `${result('0.07', 'gpt-4o, input', 'proj_mkt')}`), bucket(3, result('2', 'x', null))]));
    expect(revised.status).toBe(409);
    expect(((await revised.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'import_conflict', message: expect.stringContaining('data[0].results[0]: this charge (2026-11-01, gpt-4o, input) was imported before as 0.06 USD, and this file says 0.07 USD') });
    expect((await t.lines()).length).toBe(before);
  });

  it('read the Anthropic cost report (amounts in cents) with its model and workspace', async () => {
    const report = {
      data: [{
        starting_at: '2026-11-02T00:00:00Z', ending_at: '2026-11-03T00:00:00Z',
        results: [
          { amount: '123.45', currency: 'USD', description: 'Claude Sonnet 4.5 Usage - Input Tokens', cost_type: 'tokens', model: 'claude-sonnet-4-5', workspace_id: 'wrkspc_sup', token_type: 'uncached_input_tokens', service_tier: 'standard', context_window: '0-200k' },
          { amount: '0.5', currency: 'USD', description: 'Web search', cost_type: 'web_search', model: null, workspace_id: null, token_type: null, service_tier: null, context_window: null },
        ],
      }],
      has_more: false, next_page: null,
    };
    const r = (await (await upload('format=anthropic-costs&map=wrkspc_sup=support-bot&spend_category=development', JSON.stringify(report))).json()) as { id: string; totals: unknown };
    expect(r.totals).toEqual([{ currency: 'USD', amount: '1.2395' }]);
    const [tokens, search] = (await importLines(r.id)).sort((a, b) => Number(b.costNano - a.costNano));
    expect(tokens).toMatchObject({ costNano: 1_234_500_000n, spendCategory: 'development', tags: { anthropic_workspace: 'wrkspc_sup', cost_type: 'tokens', token_type: 'uncached_input_tokens' } });
    expect(tokens!.dims).toMatchObject({ provider: 'anthropic', model: 'claude-sonnet-4-5', project: 'support-bot', department: 'support' });
    expect(search).toMatchObject({ costNano: 5_000_000n, tags: { cost_type: 'web_search' } });
  });

  it('read FOCUS files, CSV and Parquet, attributing rows by their tags', async () => {
    const header = 'BilledCost,EffectiveCost,BillingCurrency,ChargePeriodStart,ChargePeriodEnd,ChargeCategory,ChargeDescription,ConsumedQuantity,ConsumedUnit,ProviderName,ServiceName,SubAccountId,Tags';
    const row = (billed: string, tags: string) => `${billed},${billed},USD,2026-11-01T00:00:00Z,2026-11-02T00:00:00Z,Usage,Bedrock Claude input tokens,1200000,Tokens,AWS,Amazon Bedrock,111122223333,"${tags.replace(/"/g, '""')}"`;
    const csv = [header, row('4.25', '{"department":"support","cost-center":"SUPP"}'), row('0.75', '{"project":"ai-platform","Team Name":"core"}')].join('\n');
    const r = (await (await upload('format=focus', csv)).json()) as { id: string; added: number };
    expect(r.added).toBe(2);
    const lines = await importLines(r.id);
    const support = lines.find((l) => l.dims.department === 'support')!;
    expect(support).toMatchObject({ costNano: 4_250_000_000n, endpoint: 'usage', quantityNano: 1_200_000_000_000_000n, unit: 'Tokens', tags: { focus_provider: 'AWS', focus_service: 'Amazon Bedrock', focus_sub_account: '111122223333', 'cost-center': 'SUPP' } });
    expect(lines.find((l) => l.dims.project === 'ai-platform')!.tags).toMatchObject({ team_name: 'core' });

    const parquet = Buffer.from(parquetWriteBuffer({
      columnData: [
        { name: 'BilledCost', data: [10.5, 0.125], type: 'DOUBLE' },
        { name: 'BillingCurrency', data: ['USD', 'USD'], type: 'STRING' },
        { name: 'ChargePeriodStart', data: ['2026-11-05T00:00:00Z', '2026-11-05T00:00:00Z'], type: 'STRING' },
        { name: 'ChargePeriodEnd', data: ['2026-11-06T00:00:00Z', '2026-11-06T00:00:00Z'], type: 'STRING' },
        { name: 'ChargeCategory', data: ['Usage', 'Usage'], type: 'STRING' },
        { name: 'ServiceProviderName', data: ['Microsoft', 'Microsoft'], type: 'STRING' },
        { name: 'Tags', data: ['{"department":"marketing"}', '{}'], type: 'STRING' },
      ],
    }));
    const p = (await (await upload('format=focus', parquet)).json()) as { id: string; totals: unknown };
    expect(p.totals).toEqual([{ currency: 'USD', amount: '10.625' }]);
    expect((await importLines(p.id)).find((l) => l.costNano === 10_500_000_000n)!.dims.department).toBe('marketing');
    // A FOCUS row without a required column is refused by line.
    const missing = await upload('format=focus', `${header}\n${row('', '{}')}`);
    expect(((await missing.json()) as { error: { message: string } }).error.message).toContain('line 2: BilledCost is empty; FOCUS requires it');
  });
});
