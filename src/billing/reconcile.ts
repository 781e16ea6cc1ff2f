/**
 * Reconciliation: what Bursar metered through the gateway against what a provider invoiced, per
 * provider, model, project and day. A provider's cost export (the same files `bursar import`
 * reads) is read and summed, not added to the ledger: its costs are the same spend the gateway
 * already recorded, seen from the provider's side. The variance report says where they differ;
 * a true-up books each variance as correction lines (source "correction") spread over the
 * metered calls in proportion to their cost, so that the ledger, and every statement after it,
 * adds up to the invoice. Correction lines count as metered in later reconciliations, so a
 * second true-up of the same invoice adds nothing.
 */
import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { assertRole, type Actor } from '../access/actor.js';
import { parsed } from '../config/managed.js';
import { emptyDims } from '../core/dimensions.js';
import { BursarError } from '../core/errors.js';
import type { FxTable } from '../core/fx.js';
import { blankLine, type LedgerLine } from '../core/ledger.js';
import { decimalText, largestRemainder, parseDecimal, percentText } from '../core/money.js';
import type { OrgTree } from '../core/org.js';
import type { ConfigStore, LedgerStore } from '../core/ports.js';
import { readImport, RowError } from './formats.js';

export const RECONCILIATION_KIND = 'reconciliation';

const DAY = 86_400_000;

export const reconcileInput = z.strictObject({
  format: z.enum(['openai-costs', 'anthropic-costs']),
  /** The provider's id in Bursar (default: openai, anthropic). */
  provider: z.string().min(1).optional(),
  /** Provider project or workspace id -> Bursar project. */
  map: z.record(z.string(), z.string()).default({}),
  file_name: z.string().max(300).optional(),
});

export interface VarianceRow {
  readonly day: string;
  readonly model: string | null;
  readonly project: string | null;
  readonly currency: string;
  readonly metered: string;
  readonly invoiced: string;
  /** invoiced - metered. */
  readonly variance: string;
  /** variance / invoiced, in percent (two decimals), or null when nothing was invoiced. */
  readonly variance_percent: string | null;
}

export interface Reconciliation {
  readonly id: string;
  readonly provider: string;
  readonly format: string;
  readonly file_name: string | null;
  readonly from: string;
  readonly to: string;
  readonly rows: readonly VarianceRow[];
  readonly totals: readonly { currency: string; metered: string; invoiced: string; variance: string }[];
  readonly created_by: string;
  readonly created_at: string;
  /** Set once trued up: the correction lines booked, and their total. */
  readonly true_up: { readonly lines: number; readonly at: string; readonly by: string } | null;
}

/**
 * A model as both sides name it: OpenAI's line items read "gpt-4o-2024-08-06, input"; the
 * gateway records "gpt-4o". The part before a comma, without a trailing snapshot date.
 */
export function modelKey(m: string | null): string | null {
  if (!m) return null;
  return m.split(',')[0]!.trim().replace(/-\d{4}-\d{2}-\d{2}$/, '').replace(/-\d{8}$/, '') || null;
}

type Key = { day: string; model: string | null; project: string | null; currency: string };
const keyOf = (k: Key) => JSON.stringify([k.day, k.model, k.project, k.currency]);

export class ReconciliationService {
  constructor(private readonly d: { readonly ledger: LedgerStore; readonly store: ConfigStore; readonly org: OrgTree; readonly fx: FxTable; readonly orgCurrency: string }) {}

  async reconcile(file: Buffer, input: unknown, actor: Actor): Promise<Reconciliation> {
    assertRole(actor, ['admin', 'finance'], 'reconcile invoices');
    const opts = parsed(reconcileInput.safeParse(input), 'reconciliation');
    const provider = opts.provider ?? (opts.format === 'openai-costs' ? 'openai' : 'anthropic');
    const invoiced = new Map<string, { key: Key; nano: bigint }>();
    let from = Infinity;
    let to = -Infinity;
    try {
      for await (const row of readImport(opts.format, file)) {
        const providerProject = row.tags.openai_project ?? row.tags.anthropic_workspace;
        const project = providerProject ? (opts.map[providerProject] ?? null) : null;
        if (project !== null && !this.d.org.projects.has(project)) throw new RowError(row.at, `map: project "${project}" is not declared in bursar.yaml`);
        const key: Key = { day: new Date(row.start).toISOString().slice(0, 10), model: modelKey(row.dims.model ?? row.description), project, currency: row.currency };
        const e = invoiced.get(keyOf(key)) ?? { key, nano: 0n };
        e.nano += row.costNano;
        invoiced.set(keyOf(key), e);
        from = Math.min(from, Math.floor(row.start / DAY) * DAY);
        to = Math.max(to, Math.ceil(row.end / DAY) * DAY);
      }
    } catch (err) {
      if (err instanceof RowError) throw new BursarError('import_invalid', `${err.at}: ${err.message}. Nothing was reconciled.`, { param: err.at });
      throw err;
    }
    if (invoiced.size === 0) throw new BursarError('validation_failed', 'The file has no costs to reconcile.');
    const metered = await this.metered(provider, from, to);
    const keys = new Map<string, Key>();
    for (const [k, v] of invoiced) keys.set(k, v.key);
    for (const [k, v] of metered) keys.set(k, v.key);
    const rows: VarianceRow[] = [...keys.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([k, key]) => {
      const inv = invoiced.get(k)?.nano ?? 0n;
      const met = metered.get(k)?.nano ?? 0n;
      return { ...key, metered: decimalText(met), invoiced: decimalText(inv), variance: decimalText(inv - met), variance_percent: percentText(inv - met, inv) };
    });
    const totals = new Map<string, { metered: bigint; invoiced: bigint }>();
    for (const r of rows) {
      const t = totals.get(r.currency) ?? { metered: 0n, invoiced: 0n };
      t.metered += parseDecimal(r.metered);
      t.invoiced += parseDecimal(r.invoiced);
      totals.set(r.currency, t);
    }
    const id = `rec_${randomBytes(6).toString('hex')}`;
    const body: Reconciliation = {
      id, provider, format: opts.format, file_name: opts.file_name ?? null, from: new Date(from).toISOString(), to: new Date(to).toISOString(), rows,
      totals: [...totals].sort(([a], [b]) => a.localeCompare(b)).map(([currency, t]) => ({ currency, metered: decimalText(t.metered), invoiced: decimalText(t.invoiced), variance: decimalText(t.invoiced - t.metered) })),
      created_by: actor.label, created_at: new Date().toISOString(), true_up: null,
    };
    await this.d.store.write(
      { kind: RECONCILIATION_KIND, id, body: body as unknown as Record<string, unknown>, expectVersion: 0 },
      { actor: actor.label, action: 'reconciliation.create', target: `reconciliation:${id}`, details: { provider, from: body.from, to: body.to, totals: body.totals } },
    );
    return body;
  }

  async get(id: string, actor: Actor): Promise<Reconciliation & { version: number }> {
    assertRole(actor, ['admin', 'finance'], 'read reconciliations');
    const r = await this.d.store.get(RECONCILIATION_KIND, id);
    if (!r) throw new BursarError('not_found', `No reconciliation "${id}"; list them with \`bursar reconciliations\`.`);
    return { ...(r.body as unknown as Reconciliation), version: r.version };
  }

  async list(actor: Actor): Promise<Omit<Reconciliation, 'rows'>[]> {
    assertRole(actor, ['admin', 'finance'], 'read reconciliations');
    return (await this.d.store.list(RECONCILIATION_KIND)).map((r) => {
      const { rows: _r, ...rest } = r.body as unknown as Reconciliation;
      return rest;
    }).sort((a, b) => b.created_at.localeCompare(a.created_at));
  }

  /**
   * Books each group's variance as correction lines over the group's metered calls, by their
   * department, project, workflow and user, in proportion to their cost (exactly, by largest
   * remainder); a group with nothing metered gets one line, attributed to its project if mapped.
   */
  async trueUp(id: string, actor: Actor): Promise<{ lines: number; total: { currency: string; amount: string }[] }> {
    const rec = await this.get(id, actor);
    if (rec.true_up) throw new BursarError('conflict', `Reconciliation "${id}" was trued up already (${rec.true_up.at}); reconcile the invoice again to see what is left.`);
    const from = Date.parse(rec.from);
    const to = Date.parse(rec.to);
    const shares = await this.meteredShares(rec.provider, from, to);
    const lines: LedgerLine[] = [];
    const totals = new Map<string, bigint>();
    for (const r of rec.rows) {
      const variance = parseDecimal(r.variance);
      if (variance === 0n) continue;
      const key = keyOf(r);
      const parts = shares.get(key)?.parts ?? [];
      const weights = parts.map((p) => p.nano);
      const split = parts.length ? largestRemainder(variance, weights) : [variance];
      const ts = Date.parse(`${r.day}T00:00:00Z`);
      split.forEach((nano, i) => {
        if (nano === 0n) return;
        const dims = emptyDims();
        Object.assign(dims, parts[i]?.dims ?? {});
        dims.provider = rec.provider;
        dims.model ??= r.model;
        dims.project ??= r.project;
        if (dims.project) {
          const p = this.d.org.projects.get(dims.project);
          dims.department ??= p?.department ?? null;
          dims.project_code = p?.code ?? null;
        }
        if (dims.department) dims.cost_centre = this.d.org.departments.get(dims.department)?.costCentre ?? null;
        const org = this.d.fx.convert(nano, r.currency, this.d.orgCurrency, ts);
        const lineId = `cor_${createHash('sha256').update(`${rec.id}|${key}|${i}`).digest('base64url').slice(0, 32)}`;
        lines.push({
          ...blankLine(lineId, ts), source: 'correction', dims, endpoint: 'true_up', costNano: nano, currency: r.currency, orgCostNano: org.nano, orgCurrency: this.d.orgCurrency, fxRate: org.rate,
          spendCategory: 'production_inference', periodEnd: ts + DAY, description: `True-up of ${rec.provider} ${r.day}${r.model ? ` ${r.model}` : ''} to its invoice (${rec.id})`, importId: rec.id,
        });
        totals.set(r.currency, (totals.get(r.currency) ?? 0n) + nano);
      });
    }
    for (let i = 0; i < lines.length; i += 5000) await this.d.ledger.append(lines.slice(i, i + 5000));
    const at = new Date().toISOString();
    const { version, ...body } = rec;
    await this.d.store.write(
      { kind: RECONCILIATION_KIND, id, body: { ...body, true_up: { lines: lines.length, at, by: actor.label } } as unknown as Record<string, unknown>, expectVersion: version },
      { actor: actor.label, action: 'reconciliation.true_up', target: `reconciliation:${id}`, details: { lines: lines.length, totals: [...totals].map(([c, n]) => ({ currency: c, amount: decimalText(n) })) } },
    );
    return { lines: lines.length, total: [...totals].map(([currency, n]) => ({ currency, amount: decimalText(n) })) };
  }

  /** What the gateway (and earlier true-ups) recorded for a provider, per day, model, project and currency. */
  private async metered(provider: string, from: number, to: number): Promise<Map<string, { key: Key; nano: bigint }>> {
    const out = new Map<string, { key: Key; nano: bigint }>();
    for (const [k, g] of await this.meteredShares(provider, from, to)) out.set(k, { key: g.key, nano: g.parts.reduce((a, p) => a + p.nano, 0n) });
    return out;
  }

  /** The metered cost per group, split by who made it (department, project, workflow, user). */
  private async meteredShares(provider: string, from: number, to: number): Promise<Map<string, { key: Key; parts: { dims: Record<string, string | null>; nano: bigint }[] }>> {
    const rows = await this.d.ledger.aggregate({ from, to, groupBy: ['source', 'day', 'model', 'project', 'department', 'workflow', 'user'], where: { provider: [provider] } });
    const out = new Map<string, { key: Key; parts: { dims: Record<string, string | null>; nano: bigint }[] }>();
    for (const r of rows) {
      if (r.group.source === 'import') continue;
      const group: Key = { day: String(r.group.day).slice(0, 10), model: modelKey(r.group.model ?? null), project: r.group.project ?? null, currency: r.currency };
      const key = keyOf(group);
      let entry = out.get(key);
      if (!entry) out.set(key, (entry = { key: group, parts: [] }));
      const list = entry.parts;
      const dims = { department: r.group.department ?? null, project: r.group.project ?? null, workflow: r.group.workflow ?? null, user: r.group.user ?? null, model: r.group.model ?? null };
      const same = list.find((p) => JSON.stringify(p.dims) === JSON.stringify(dims));
      if (same) same.nano += r.costNano;
      else list.push({ dims, nano: r.costNano });
    }
    return out;
  }
}

