// A 1-million-row import: Bursar's CSV (the seat, GPU-hour and fee rows a finance team would
// load, spread over 5 departments and 10 projects), read, attributed, converted and written to
// SQLite by the import service, as `bursar import csv` runs it. Prints the time of each phase
// and the peak RSS.
//   node bench/import.mjs [rows=1000000]
// Run after `npm run build`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ImportService } from '../dist/billing/imports.js';
import { OrgTree } from '../dist/core/org.js';
import { FxTable } from '../dist/core/fx.js';
import { openSqlite } from '../dist/store/sqlite/open.js';

const N = Number(process.argv[2] ?? 1_000_000);
const DEPTS = ['marketing', 'support', 'legal', 'finance', 'platform'];
const org = new OrgTree({
  departments: DEPTS.map((id, i) => ({ id, name: id, costCentre: `CC${i}`, manager: null })),
  teams: [],
  projects: Array.from({ length: 10 }, (_, i) => ({ id: `p${i}`, name: `p${i}`, code: `P-${i}`, department: DEPTS[i % 5], team: null })),
  users: [],
});
const KINDS = ['seat', 'gpu_hours', 'vector_storage', 'platform_fee', 'human_review'];
const rows = ['date,end_date,kind,description,quantity,unit,unit_price,currency,department,project,tags'];
for (let i = 0; i < N; i++) {
  const day = String(1 + (i % 28)).padStart(2, '0');
  const project = i % 3 === 0 ? `p${i % 10}` : '';
  rows.push(`2026-10-${day},,${KINDS[i % 5]},item ${i},${1 + (i % 17)}.5,unit,${(i % 997) / 100},USD,${project ? '' : DEPTS[i % 5]},${project},batch=b${i % 100}`);
}
const file = Buffer.from(rows.join('\n') + '\n');
rows.length = 0;

const dir = mkdtempSync(join(tmpdir(), 'bench-import-'));
const stores = await openSqlite(join(dir, 'bursar.db'));
const service = new ImportService({ ledger: stores.ledger, store: stores.config, org, fx: new FxTable([]), orgCurrency: 'USD' });
const actor = { label: 'bench', role: 'admin', department: null, user: null };
let peak = process.memoryUsage().rss;
const sample = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
const t0 = performance.now();
let tRead = 0;
const summary = await service.run(file, { format: 'csv' }, actor, (p) => {
  if (p.phase === 'read') tRead = performance.now();
});
const t1 = performance.now();
clearInterval(sample);
peak = Math.max(peak, process.memoryUsage().rss);
console.log(`| rows | file MB | read and check s | attribute and write s | total s | rows/s | peak RSS MB | lines added |`);
console.log(`|---:|---:|---:|---:|---:|---:|---:|---:|`);
console.log(`| ${N.toLocaleString('en')} | ${(file.length / 1048576).toFixed(0)} | ${((tRead - t0) / 1000).toFixed(1)} | ${((t1 - tRead) / 1000).toFixed(1)} | ${((t1 - t0) / 1000).toFixed(1)} | ${Math.round(N / ((t1 - t0) / 1000)).toLocaleString('en')} | ${Math.round(peak / 1048576)} | ${summary.added.toLocaleString('en')} |`);
await stores.close();
rmSync(dir, { recursive: true, force: true });
