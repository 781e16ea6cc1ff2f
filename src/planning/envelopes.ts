/**
 * Quarterly envelopes per business unit: declared in bursar.yaml or through the API (one
 * ManagedRecords kind), reallocated between their parts mid-quarter (each move one audited
 * record, so the parts always total the envelope), and reported part by part: what it was given,
 * what moved, what it holds now, what its spend came to, what is left.
 */
import { randomBytes } from 'node:crypto';
import { assertRole, type Actor } from '../access/actor.js';
import { ManagedRecords, parsed } from '../config/managed.js';
import { BursarError } from '../core/errors.js';
import type { FxTable } from '../core/fx.js';
import type { UsageGroup } from '../core/ledger.js';
import { decimalText, formatAmount, formatMoneyExact, parseDecimal, percentText } from '../core/money.js';
import type { OrgTree } from '../core/org.js';
import type { ConfigStore, LedgerStore } from '../core/ports.js';
import { quarterNamed, type Calendar } from '../budgets/windows.js';
import {
  ENVELOPE_KIND, PARTS, REALLOCATION_KIND, envelopeProblems, envelopeSpecSchema, partOf, reallocationInput, splitAmount,
  type EnvelopeSpec, type Part, type Reallocation,
} from './envelope-model.js';

export interface EnvelopeDeps {
  readonly store: ConfigStore;
  readonly ledger: LedgerStore;
  readonly org: OrgTree;
  readonly fx: FxTable;
  readonly calendar: Calendar;
  readonly orgCurrency: string;
}

/** Envelopes as config records: bursar.yaml's and the API's, checked the same way; admins and finance write them. */
export function envelopeRecords(d: EnvelopeDeps): ManagedRecords<EnvelopeSpec> {
  return new ManagedRecords<EnvelopeSpec>(d.store, ENVELOPE_KIND, 'envelope', (input) => {
    const spec = parsed(envelopeSpecSchema.safeParse(input), 'envelope');
    const [problem] = envelopeProblems(spec, d);
    if (problem) throw new BursarError('validation_failed', `${problem[0]}: ${problem[1]}.`, { param: problem[0] });
    return spec;
  }, 'bursar envelopes list', ['admin', 'finance']);
}

/** An envelope's parts in nano-units (see tally). */
interface Tally {
  readonly currency: string;
  readonly q: { readonly start: number; readonly end: number };
  readonly given: Record<Part, bigint>;
  readonly moved: Record<Part, bigint>;
  readonly spent: Record<Part, bigint>;
}

export class EnvelopeService {
  constructor(
    private readonly d: EnvelopeDeps,
    readonly records: ManagedRecords<EnvelopeSpec>,
  ) {}

  /** Admins and finance see every envelope; a manager their department's. */
  private assertCanSee(actor: Actor, e: EnvelopeSpec | null, what: string): void {
    assertRole(actor, ['admin', 'finance', 'manager'], what);
    if (e && actor.role === 'manager' && e.department !== actor.department) throw new BursarError('not_found', `No envelope "${e.id}" that you can see; list them with \`bursar envelopes list\`.`);
  }

  /** Every envelope the actor may see, as reports; `quarter` and `department` narrow it. */
  async list(actor: Actor, query: { quarter?: string; department?: string }, now = Date.now()): Promise<Record<string, unknown>[]> {
    this.assertCanSee(actor, null, 'read envelopes');
    const moves = await this.reallocations();
    const out = [];
    for (const { spec } of await this.records.list()) {
      if (actor.role === 'manager' && spec.department !== actor.department) continue;
      if ((query.quarter && spec.quarter !== query.quarter) || (query.department && spec.department !== query.department)) continue;
      out.push(await this.describe(spec, moves.filter((m) => m.envelope === spec.id), now));
    }
    return out;
  }

  async report(id: string, actor: Actor, now = Date.now()): Promise<Record<string, unknown>> {
    this.assertCanSee(actor, null, 'read envelopes');
    const { spec } = await this.records.get(id);
    this.assertCanSee(actor, spec, 'read envelopes');
    return this.describe(spec, await this.reallocations(id), now);
  }

  /**
   * Moves money from one part to another before the quarter ends (admins, finance, the
   * department's manager), with a reason; never more than the giving part has left unspent.
   */
  async reallocate(id: string, input: unknown, actor: Actor, now = Date.now()): Promise<Record<string, unknown>> {
    this.assertCanSee(actor, null, 'reallocate an envelope');
    const { spec } = await this.records.get(id);
    this.assertCanSee(actor, spec, 'reallocate an envelope');
    const r = parsed(reallocationInput.safeParse(input), 'reallocation');
    if (r.from === r.to) throw new BursarError('validation_failed', 'to: must be another part than from.', { param: 'to' });
    const q = quarterNamed(spec.quarter, this.d.calendar)!;
    if (now >= q.end) throw new BursarError('conflict', `Envelope "${id}" covers ${spec.quarter}, which has ended; its parts are final.`);
    const nano = parseDecimal(r.amount);
    if (nano <= 0n) throw new BursarError('validation_failed', 'amount: must be more than zero.', { param: 'amount' });
    const moves = await this.reallocations(id);
    const t = await this.tally(spec, moves, now);
    const held = t.given[r.from] + t.moved[r.from];
    const spent = t.spent[r.from] > 0n ? t.spent[r.from] : 0n;
    // Exact: a rounded figure could name an amount one cannot move.
    const money = (n: bigint) => formatMoneyExact({ nano: n, currency: t.currency });
    if (nano > held - spent) throw new BursarError('validation_failed', `amount: ${r.from} has ${money(held - spent)} unspent (${money(held)} less ${money(spent)} spent); move at most that.`, { param: 'amount' });
    const move: Reallocation = { envelope: id, from: r.from, to: r.to, amount: r.amount, reason: r.reason, by: actor.label, at: now };
    const moveId = `mov_${randomBytes(6).toString('hex')}`;
    await this.d.store.write(
      { kind: REALLOCATION_KIND, id: moveId, body: { ...move }, expectVersion: 0 },
      { actor: actor.label, action: 'envelope.reallocate', target: `envelope:${id}`, details: { reallocation: moveId, from: r.from, to: r.to, amount: r.amount, currency: t.currency, reason: r.reason } },
    );
    // The tally just read, with this move: the quarter's spend is not read again.
    t.moved[r.from] -= nano;
    t.moved[r.to] += nano;
    return this.describe(spec, [...moves, { id: moveId, ...move }], now, t);
  }

  /** The moves between parts, oldest first: of one envelope, or of all. */
  private async reallocations(envelope?: string): Promise<(Reallocation & { id: string })[]> {
    return (await this.d.store.list(REALLOCATION_KIND))
      .map((r) => ({ id: r.id, ...(r.body as unknown as Reallocation) }))
      .filter((m) => envelope === undefined || m.envelope === envelope)
      .sort((a, b) => a.at - b.at);
  }

  /** An envelope's parts in nano-units: given by the split, moved since, spent in the quarter (so far). */
  private async tally(spec: EnvelopeSpec, moves: readonly Reallocation[], now: number): Promise<Tally> {
    const currency = spec.currency ?? this.d.orgCurrency;
    const q = quarterNamed(spec.quarter, this.d.calendar)!;
    const given = splitAmount(spec, currency);
    const moved: Record<Part, bigint> = { production: 0n, scaling: 0n, experiments: 0n };
    for (const m of moves) {
      const n = parseDecimal(m.amount);
      moved[m.from] -= n;
      moved[m.to] += n;
    }
    const spent: Record<Part, bigint> = { production: 0n, scaling: 0n, experiments: 0n };
    const rateAt = Math.min(q.end, Math.max(q.start + 1, now)) - 1;
    const rows = await this.d.ledger.aggregate({ from: q.start, to: q.end, groupBy: [spec.count_by as UsageGroup], where: { department: [spec.department] } });
    for (const r of rows) spent[partOf(spec, r.group[spec.count_by] ?? null)] += this.d.fx.convert(r.costNano, r.currency, currency, rateAt).nano;
    return { currency, q, given, moved, spent };
  }

  /** An envelope as people read it: each part's split, what it was given, moved, holds now, spent and has left. */
  private async describe(spec: EnvelopeSpec, moves: readonly (Reallocation & { id: string })[], now: number, tally?: Tally): Promise<Record<string, unknown>> {
    const { currency, q, given, moved, spent } = tally ?? (await this.tally(spec, moves, now));
    const money = (n: bigint) => ({ amount: decimalText(n), formatted: formatAmount({ nano: n, currency }) });
    return {
      id: spec.id, name: spec.name ?? spec.id, department: spec.department, quarter: spec.quarter,
      start: new Date(q.start).toISOString(), end: new Date(q.end).toISOString(), ended: now >= q.end,
      currency, amount: money(parseDecimal(spec.amount)), count_by: spec.count_by,
      parts: PARTS.map((p) => {
        const amount = given[p] + moved[p];
        return { part: p, split_percent: spec.split[p], given: money(given[p]), moved: money(moved[p]), amount: money(amount), spent: money(spent[p]), remaining: money(amount - spent[p]), used_percent: percentText(spent[p], amount) };
      }),
      spent: money(PARTS.reduce((s, p) => s + spent[p], 0n)),
      reallocations: moves.map((m) => ({ id: m.id, from: m.from, to: m.to, amount: m.amount, reason: m.reason, by: m.by, at: new Date(m.at).toISOString() })),
    };
  }
}
