/**
 * A statement as a page a person reads: a department's (or every department's) allocation for a
 * month, with a bar chart of where the money came from, the amounts in its own currency and the
 * FX rate used, and links to the CSVs. One self-contained HTML file (inline SVG, no scripts), so
 * it can be mailed or archived as it is.
 */
import { decimalText, parseDecimal } from '../core/money.js';
import type { OrgTree } from '../core/org.js';
import type { RunBody, StatementRow } from './runs.js';

const esc = (s: unknown) => String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Horizontal bars, one per label, scaled to the largest absolute amount. */
function bars(items: readonly { label: string; amount: string }[], currency: string): string {
  const values = items.map((i) => Number(i.amount));
  const max = Math.max(1e-9, ...values.map(Math.abs));
  const row = 26;
  const width = 640;
  const labelW = 220;
  const body = items.map((it, i) => {
    const w = Math.max(1, Math.round((Math.abs(values[i]!) / max) * (width - labelW - 120)));
    const y = i * row;
    return `<text x="0" y="${y + 17}" font-size="13">${esc(it.label)}</text>`
      + `<rect x="${labelW}" y="${y + 5}" width="${w}" height="16" fill="${values[i]! < 0 ? '#c0504d' : '#4f81bd'}"><title>${esc(it.amount)} ${esc(currency)}</title></rect>`
      + `<text x="${labelW + w + 6}" y="${y + 17}" font-size="12">${esc(it.amount)}</text>`;
  }).join('');
  return `<svg role="img" aria-label="amounts by ${items.length} items" width="${width}" height="${items.length * row + 4}" xmlns="http://www.w3.org/2000/svg">${body}</svg>`;
}

function rowsTable(rows: readonly StatementRow[], currency: string): string {
  const head = '<tr><th>Project</th><th>Rule</th><th>Method</th><th>Mode</th><th class="n">Lines</th><th class="n">Amount (' + esc(currency) + ')</th><th class="n">Exact</th></tr>';
  const body = rows.map((r) => `<tr><td>${esc(r.project ? `${r.project} (${r.project_code})` : '-')}</td><td>${esc(r.rule)}</td><td>${esc(r.method)}</td><td>${esc(r.mode)}</td><td class="n">${r.lines}</td><td class="n">${esc(r.rounded)}</td><td class="n">${esc(r.amount)}</td></tr>`).join('');
  return `<table>${head}${body}</table>`;
}

export function statementHtml(run: RunBody, org: OrgTree, department: string | null): string {
  const title = department ? `${org.departments.get(department)?.name ?? department}: AI costs ${run.period}` : `AI cost allocation ${run.period}`;
  const style = 'body{font-family:system-ui,sans-serif;margin:2rem;max-width:60rem;color:#222}table{border-collapse:collapse;margin:1rem 0}td,th{border-bottom:1px solid #ddd;padding:.3rem .6rem;text-align:left}.n{text-align:right}.muted{color:#666}';
  const status = `<p class="muted">Run ${esc(run.id)} (${esc(run.status)}${run.corrects ? `, corrects ${esc(run.corrects)}` : ''}), ${esc(run.from.slice(0, 10))} to ${esc(run.to.slice(0, 10))}; amounts in ${esc(run.currency)}, rounded to the cent so that they add up.</p>`;
  let main: string;
  if (department) {
    const d = run.departments.find((x) => x.department === department);
    const rows = run.statement.filter((r) => r.department === department);
    const byRule = new Map<string, bigint>();
    for (const r of rows) byRule.set(r.rule, (byRule.get(r.rule) ?? 0n) + parseDecimal(r.rounded));
    const local = d && d.local.currency !== run.currency ? `<p>In ${esc(d.local.currency)} at ${esc(d.local.fx_rate)} per ${esc(run.currency)}: chargeback ${esc(d.local.chargeback)}, showback ${esc(d.local.showback)}, total <strong>${esc(d.local.total)} ${esc(d.local.currency)}</strong>.</p>` : '';
    main = d
      ? `<p>Cost centre ${esc(d.cost_centre)}. Chargeback <strong>${esc(d.chargeback)}</strong>, showback ${esc(d.showback)}, total <strong>${esc(d.total)} ${esc(run.currency)}</strong>.</p>${local}`
        + `<h2>By rule</h2>${bars([...byRule].map(([label, n]) => ({ label, amount: decimalText(n, 2) })), run.currency)}<h2>Lines</h2>${rowsTable(rows, run.currency)}`
        + `<p><a href="lines?department=${encodeURIComponent(department)}">Every ledger line's part (CSV)</a> · <a href="statement?format=csv&amp;department=${encodeURIComponent(department)}">This statement (CSV)</a></p>`
      : '<p>Nothing was allocated to this department in the period.</p>';
  } else {
    const total = (x: RunBody['departments'][number]) => ({ label: x.department, amount: x.total });
    main = `<h2>By department</h2>${bars(run.departments.map(total), run.currency)}`
      + `<table><tr><th>Department</th><th>Cost centre</th><th class="n">Chargeback</th><th class="n">Showback</th><th class="n">Total</th><th>In its currency</th></tr>${run.departments.map((x) => `<tr><td>${esc(x.department)}</td><td>${esc(x.cost_centre)}</td><td class="n">${esc(x.chargeback)}</td><td class="n">${esc(x.showback)}</td><td class="n">${esc(x.total)}</td><td>${x.local.currency === run.currency ? '' : `${esc(x.local.total)} ${esc(x.local.currency)} (at ${esc(x.local.fx_rate)})`}</td></tr>`).join('')}`
      + `<tr><td>Unallocated</td><td></td><td></td><td></td><td class="n">${esc(run.unallocated.amount)}</td><td></td></tr><tr><th>Total</th><th></th><th></th><th></th><th class="n">${esc(run.source_total_rounded)}</th><th></th></tr></table>`;
  }
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title><style>${style}</style></head><body><h1>${esc(title)}</h1>${status}${main}</body></html>`;
}
