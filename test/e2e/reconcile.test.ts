/**
 * Reconciliation against a provider's invoice: the gateway's metered cost per day, model and
 * project beside the OpenAI costs export's, without adding the export to the ledger; the variance
 * per group; and a true-up that books each variance as correction lines spread over the metered
 * calls in proportion to their cost, after which the ledger adds up to the invoice exactly.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decimalText, parseDecimal } from '../../src/core/money.js';
import type { Reconciliation } from '../../src/billing/reconcile.js';
import { ORG_YAML, startTestBursar, type TestBursar } from '../helpers/bursar.js';
import { CLI } from '../helpers/process.js';

const run = promisify(execFile);
let t: TestBursar;
beforeAll(async () => {
  t = await startTestBursar({ yaml: ORG_YAML });
});
afterAll(() => t.close());

const cli = (...args: string[]) => run(process.execPath, [CLI, ...args], { env: { ...process.env, BURSAR_URL: t.url, BURSAR_TOKEN: t.adminToken } });

describe('reconciliation', () => {
  it('reports metered against invoiced per day, model and project, and a true-up makes the ledger add up to the invoice', async () => {
    const mkt = await t.key({ department: 'marketing', project: 'campaign-ai' });
    const sup = await t.key({ department: 'support', project: 'support-bot' });
    const ask = (secret: string, workflow: string, content: string) =>
      t.openai(secret, { 'x-bursar-workflow': workflow }).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }], max_tokens: 50 });
    await ask(mkt.secret, 'briefs', 'Write a campaign brief for the spring launch.');
    await ask(mkt.secret, 'briefs', 'Another brief.');
    await ask(mkt.secret, 'slogans', 'Three slogans, please, for a long and detailed campaign about bicycles.');
    await ask(sup.secret, 'replies', 'Reply to a late parcel.');
    await t.settled();
    const day = new Date().toISOString().slice(0, 10);
    const lines = (await t.lines()).filter((l) => l.source === 'gateway' && l.dims.provider === 'openai');
    const meteredOf = (project: string) => lines.filter((l) => l.dims.project === project).reduce((a, l) => a + l.costNano, 0n);

    // The invoice: campaign-ai 0.05 more than metered, support-bot exact, and an image model the gateway never saw.
    const start = Date.parse(`${day}T00:00:00Z`) / 1000;
    const result = (value: bigint, item: string, project: string | null) => `{"object":"organization.costs.result","amount":{"value":${decimalText(value)},"currency":"usd"},"line_item":"${item}","project_id":${project ? `"${project}"` : 'null'}}`;
    const invoice = `{"object":"page","data":[{"object":"bucket","start_time":${start},"end_time":${start + 86400},"results":[${[
      result(meteredOf('campaign-ai') + 50_000_000n, 'gpt-4o-mini-2024-07-18, input', 'proj_mkt'),
      result(meteredOf('support-bot'), 'gpt-4o-mini-2024-07-18, output', 'proj_sup'),
      result(1_000_000_000n, 'gpt-image-1, output', null),
    ].join(',')}]}],"has_more":false,"next_page":null}`;
    const dir = mkdtempSync(join(tmpdir(), 'bursar-rec-'));
    const file = join(dir, 'openai-costs.json');
    writeFileSync(file, invoice);
    const before = (await t.lines()).length;
    const rec = JSON.parse((await cli('reconcile', 'openai-costs', file, '--map', 'proj_mkt=campaign-ai,proj_sup=support-bot', '--json')).stdout) as Reconciliation;
    expect((await t.lines()).length).toBe(before); // nothing added to the ledger
    const row = (project: string | null, model: string) => rec.rows.find((r) => r.project === project && r.model === model && r.day === day)!;
    expect(row('campaign-ai', 'gpt-4o-mini')).toMatchObject({ metered: decimalText(meteredOf('campaign-ai')), variance: '0.05', currency: 'USD' });
    expect(row('support-bot', 'gpt-4o-mini')).toMatchObject({ variance: '0', variance_percent: '0.00' });
    expect(row(null, 'gpt-image-1')).toMatchObject({ metered: '0', invoiced: '1', variance: '1', variance_percent: '100.00' });
    expect(rec.totals).toEqual([{ currency: 'USD', metered: decimalText(meteredOf('campaign-ai') + meteredOf('support-bot')), invoiced: decimalText(meteredOf('campaign-ai') + meteredOf('support-bot') + 1_050_000_000n), variance: '1.05' }]);

    // The true-up: the 0.05 spread over campaign-ai's workflows by their metered cost, the 1.00 on one unattributed line.
    const up = JSON.parse((await cli('reconciliations', 'true-up', rec.id, '--json')).stdout) as { lines: number; total: { currency: string; amount: string }[] };
    expect(up.total).toEqual([{ currency: 'USD', amount: '1.05' }]);
    await t.settled();
    const corrections = (await t.lines()).filter((l) => l.source === 'correction');
    expect(corrections.length).toBe(up.lines);
    const briefs = corrections.find((l) => l.dims.workflow === 'briefs')!;
    const slogans = corrections.find((l) => l.dims.workflow === 'slogans')!;
    expect(briefs.costNano + slogans.costNano).toBe(50_000_000n);
    const metBriefs = lines.filter((l) => l.dims.workflow === 'briefs').reduce((a, l) => a + l.costNano, 0n);
    expect(Number(briefs.costNano)).toBeCloseTo(Number((50_000_000n * metBriefs) / meteredOf('campaign-ai')), -1);
    expect(briefs.dims).toMatchObject({ department: 'marketing', project: 'campaign-ai', project_code: 'MKTG-AI-001', provider: 'openai' });
    expect(corrections.find((l) => l.dims.model === 'gpt-image-1')).toMatchObject({ costNano: 1_000_000_000n, endpoint: 'true_up' });

    // Reconciled again, nothing is left; a true-up cannot be booked twice.
    const again = (await (await fetch(`${t.url}/admin/v1/reconciliations?format=openai-costs&map=proj_mkt=campaign-ai,proj_sup=support-bot`, { method: 'POST', headers: { authorization: `Bearer ${t.adminToken}` }, body: invoice })).json()) as Reconciliation;
    expect(again.totals[0]!.variance).toBe('0');
    expect(again.rows.every((r) => r.variance === '0')).toBe(true);
    expect((await t.admin('POST', `/reconciliations/${rec.id}/true-up`)).status).toBe(409);
    const usage = (await t.admin<{ totals: { currency: string; cost: string }[] }>('GET', `/usage?provider=openai&group_by=source&from=${day}`)).body;
    expect(parseDecimal(usage.totals.find((x) => x.currency === 'USD')!.cost)).toBe(parseDecimal(again.totals[0]!.invoiced));
  });
});
