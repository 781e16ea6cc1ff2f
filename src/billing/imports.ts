/**
 * Imports: costs that did not pass through the gateway become ledger lines of the same shape
 * (source "import"), attributed to the org tree, priced in their own currency and the
 * organisation's.
 *
 * - Atomic: every row is read, attributed and checked before the first line is written; a file
 *   with an error adds nothing, and the error names the row and what is wrong.
 * - Idempotent: a line's id comes from what it charges (a provider's bucket and line item, or a
 *   row's whole content, counting identical rows), so the same file twice adds nothing, and a
 *   later export that repeats earlier days adds only the new ones. A provider bucket imported
 *   before with another amount is refused (import_conflict), never counted twice.
 * - Recorded: each import is a config record (file hash, rows, lines added, totals), audited.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { assertRole, type Actor } from '../access/actor.js';
import { emptyDims, type Dimension, type Dims } from '../core/dimensions.js';
import { BursarError } from '../core/errors.js';
import type { FxTable } from '../core/fx.js';
import { blankLine, type LedgerLine } from '../core/ledger.js';
import { decimalText } from '../core/money.js';
import type { OrgTree } from '../core/org.js';
import type { ConfigStore, LedgerStore } from '../core/ports.js';
import { parsed } from '../config/managed.js';
import { IMPORT_FORMATS, readImport, RowError, SPEND_CATEGORIES, type ImportRow } from './formats.js';

export const IMPORT_KIND = 'import';

/** Dimensions an import may set for all its rows (a row's own win). */
const DEFAULT_DIMS = ['department', 'team', 'project', 'user', 'application', 'workflow', 'environment'] as const;

export const importOptionsSchema = z.strictObject({
  format: z.enum(IMPORT_FORMATS),
  /** FOCUS: which cost to import (BilledCost, what the invoice says; or EffectiveCost, amortised). */
  cost: z.enum(['BilledCost', 'EffectiveCost']).default('BilledCost'),
  /** For rows that name none (a row's spend_category wins). */
  spend_category: z.enum(SPEND_CATEGORIES).optional(),
  /** Provider project or workspace id -> Bursar project, for the provider exports. */
  map: z.record(z.string(), z.string()).default({}),
  file_name: z.string().max(300).optional(),
  ...Object.fromEntries(DEFAULT_DIMS.map((d) => [d, z.string().min(1).optional()])) as Record<(typeof DEFAULT_DIMS)[number], z.ZodOptional<z.ZodString>>,
});
export type ImportOptions = z.input<typeof importOptionsSchema>;

export interface ImportSummary {
  readonly id: string;
  readonly format: string;
  readonly file_name: string | null;
  readonly sha256: string;
  readonly rows: number;
  /** Lines written by this import; lines already in the ledger (an earlier import of the same charges). */
  readonly added: number;
  readonly already_present: number;
  /** What the rows cost, per currency, as exact decimals. */
  readonly totals: { currency: string; amount: string }[];
  readonly from: string | null;
  readonly to: string | null;
  readonly imported_by: string;
  readonly imported_at: string;
}

/** What an import reports while it runs: rows read, then lines written out of all. */
export type ImportProgress = { phase: 'read'; rows: number } | { phase: 'write'; done: number; of: number };

const BATCH = 5000;
const PROVIDER_EXPORTS = new Set(['openai-costs', 'anthropic-costs']);

export class ImportService {
  constructor(
    private readonly d: { readonly ledger: LedgerStore; readonly store: ConfigStore; readonly org: OrgTree; readonly fx: FxTable; readonly orgCurrency: string },
  ) {}

  async run(file: Buffer, input: unknown, actor: Actor, progress: (p: ImportProgress) => void = () => {}): Promise<ImportSummary & { repeated: boolean }> {
    assertRole(actor, ['admin', 'finance'], 'import costs');
    const opts = parsed(importOptionsSchema.safeParse(input), 'import');
    const sha256 = createHash('sha256').update(file).digest('hex');
    const { file_name: _name, ...meaning } = opts;
    const id = `imp_${createHash('sha256').update(`${sha256}|${JSON.stringify(meaning)}`).digest('hex').slice(0, 16)}`;
    const earlier = await this.d.store.get(IMPORT_KIND, id);
    if (earlier) return { ...(earlier.body as unknown as ImportSummary), repeated: true };

    // Pass 1: every row read, attributed and converted, nothing written; only totals are kept.
    const totals = new Map<string, bigint>();
    let rows = 0;
    let from = Infinity;
    let to = -Infinity;
    const revisions = PROVIDER_EXPORTS.has(opts.format);
    for await (const [row, line] of this.lines(file, opts, id)) {
      rows++;
      totals.set(line.currency, (totals.get(line.currency) ?? 0n) + line.costNano);
      from = Math.min(from, line.ts);
      to = Math.max(to, line.periodEnd ?? line.ts);
      if (revisions) await this.refuseRevision(line, row);
    }
    progress({ phase: 'read', rows });
    // Pass 2: the same lines again (their ids are derived, so the same), written a batch at a time.
    let added = 0;
    let done = 0;
    let batch: LedgerLine[] = [];
    const flush = async () => {
      added += (await this.d.ledger.append(batch)).added.length;
      done += batch.length;
      batch = [];
      progress({ phase: 'write', done, of: rows });
    };
    for await (const [, line] of this.lines(file, opts, id)) {
      batch.push(line);
      if (batch.length === BATCH) await flush();
    }
    if (batch.length) await flush();
    const summary: ImportSummary = {
      id, format: opts.format, file_name: opts.file_name ?? null, sha256, rows, added, already_present: rows - added,
      totals: [...totals].sort(([a], [b]) => a.localeCompare(b)).map(([currency, nano]) => ({ currency, amount: decimalText(nano) })),
      from: rows ? new Date(from).toISOString() : null,
      to: rows ? new Date(to).toISOString() : null,
      imported_by: actor.label, imported_at: new Date().toISOString(),
    };
    await this.d.store.write(
      { kind: IMPORT_KIND, id, body: summary as unknown as Record<string, unknown>, expectVersion: 0 },
      { actor: actor.label, action: 'import.create', target: `import:${id}`, details: { format: summary.format, file_name: summary.file_name, sha256, rows: summary.rows, added, totals: summary.totals } },
    ).catch((err: unknown) => {
      // Two imports of the same file at once: the lines are in either way; one record is enough.
      if ((err as { code?: string }).code !== 'conflict') throw err;
    });
    return { ...summary, repeated: false };
  }

  async list(actor: Actor): Promise<ImportSummary[]> {
    assertRole(actor, ['admin', 'finance'], 'read imports');
    return (await this.d.store.list(IMPORT_KIND)).map((r) => r.body as unknown as ImportSummary).sort((a, b) => b.imported_at.localeCompare(a.imported_at));
  }

  async get(id: string, actor: Actor): Promise<ImportSummary> {
    assertRole(actor, ['admin', 'finance'], 'read imports');
    const r = await this.d.store.get(IMPORT_KIND, id);
    if (!r) throw new BursarError('not_found', `No import "${id}"; list them with \`bursar imports\`.`);
    return r.body as unknown as ImportSummary;
  }

  /** A file's rows as ledger lines, attributed and converted, one at a time; the first row that cannot be is an error naming it. */
  private async *lines(file: Buffer, opts: z.infer<typeof importOptionsSchema>, importId: string): AsyncGenerator<[ImportRow, LedgerLine]> {
    // The same charge twice in one file (two identical seat lines) is two lines: counted by the hash of what they charge.
    const seen = new Map<string, number>();
    try {
      for await (const row of readImport(opts.format, file, { cost: opts.cost })) {
        const dims = this.attribute(row, opts);
        const identity = row.key !== '' ? `${opts.format}|${row.key}` : `${opts.format}|${JSON.stringify([row.start, row.end, row.kind, row.description, String(row.quantityNano), row.unit, String(row.costNano), row.currency, row.spendCategory, dims, row.tags])}`;
        const h = createHash('sha256').update(identity).digest('base64url');
        const n = (seen.get(h) ?? 0) + 1;
        seen.set(h, n);
        // Led by the charge's start, so that a file's lines append near each other in the id index (as UUIDv7 gateway ids do).
        const id = `imp_${row.start.toString(36).padStart(9, '0')}_${n === 1 ? h.slice(0, 24) : createHash('sha256').update(`${h}|${n}`).digest('base64url').slice(0, 24)}`;
        let org;
        try {
          org = this.d.fx.convert(row.costNano, row.currency, this.d.orgCurrency, row.start);
        } catch (err) {
          throw new RowError(row.at, (err as Error).message);
        }
        yield [row, {
          ...blankLine(id, row.start), source: 'import' as const, dims, tags: Object.keys(row.tags).length ? row.tags : null, endpoint: row.kind,
          costNano: row.costNano, currency: row.currency, status: 'ok' as const, usageExact: true,
          spendCategory: row.spendCategory ?? opts.spend_category ?? 'production_inference',
          orgCostNano: org.nano, orgCurrency: this.d.orgCurrency, fxRate: org.rate,
          periodEnd: row.end, quantityNano: row.quantityNano, unit: row.unit, description: row.description, importId,
        }];
      }
    } catch (err) {
      throw rowError(err);
    }
  }

  /** A row's dimensions, completed from the org tree (department, cost centre, project code) and checked against it. */
  private attribute(row: ImportRow, opts: z.infer<typeof importOptionsSchema>): Dims {
    const dims = emptyDims();
    for (const d of DEFAULT_DIMS) if (opts[d]) dims[d] = opts[d]!;
    for (const [k, v] of Object.entries(row.dims)) dims[k as Dimension] = v;
    const providerProject = row.tags.openai_project ?? row.tags.anthropic_workspace;
    if (providerProject && opts.map[providerProject]) dims.project = opts.map[providerProject]!;
    const org = this.d.org;
    const fail = (what: string) => {
      throw new RowError(row.at, what);
    };
    if (dims.project !== null) {
      const p = org.projects.get(dims.project) ?? fail(`project "${dims.project}" is not declared in bursar.yaml`);
      if (dims.department !== null && dims.department !== p.department) fail(`project "${p.id}" belongs to department "${p.department}", not "${dims.department}"`);
      dims.department = p.department;
      dims.project_code = p.code;
      dims.team ??= p.team;
    }
    if (dims.user !== null) {
      const u = org.users.get(dims.user) ?? fail(`user "${dims.user}" is not declared in bursar.yaml`);
      dims.department ??= u.department;
    }
    if (dims.team !== null) {
      const t = org.teams.get(dims.team) ?? fail(`team "${dims.team}" is not declared in bursar.yaml`);
      dims.department ??= t.department;
    }
    if (dims.department === null && dims.cost_centre !== null) {
      dims.department = [...org.departments.values()].find((d) => d.costCentre === dims.cost_centre)?.id ?? fail(`cost centre "${dims.cost_centre}" is no department's`);
    }
    if (dims.department !== null) {
      const d = org.departments.get(dims.department) ?? fail(`department "${dims.department}" is not declared in bursar.yaml`);
      if (dims.cost_centre !== null && dims.cost_centre !== d.costCentre) fail(`cost centre "${dims.cost_centre}" is not department "${d.id}"'s (${d.costCentre})`);
      dims.cost_centre = d.costCentre;
    }
    return dims;
  }

  /**
   * Provider exports name their buckets: a bucket already imported with the same amount is
   * skipped by the append; with another amount (the export was revised) the file is refused.
   */
  private async refuseRevision(line: LedgerLine, row: ImportRow): Promise<void> {
    const have = await this.d.ledger.get(line.id);
    if (!have || (have.costNano === line.costNano && have.currency === line.currency)) return;
    throw new BursarError('import_conflict', `${row.at}: this charge (${new Date(row.start).toISOString().slice(0, 10)}, ${row.description ?? 'no line item'}) was imported before as ${decimalText(have.costNano)} ${have.currency}, and this file says ${decimalText(line.costNano)} ${line.currency}. Nothing was imported. Import only days that have ended (their amounts are final), or leave that day out of the file.`, { param: row.at });
  }
}

function rowError(err: unknown): unknown {
  if (err instanceof RowError) return new BursarError('import_invalid', `${err.at}: ${err.message}. Nothing was imported; fix the file and import it again.`, { param: err.at });
  return err;
}
