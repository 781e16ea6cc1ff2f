/**
 * What raises a budget's limit once someone approves it, through the shared approvals
 * lifecycle (config/approvals.ts): overrides (more than the limit, for a while) and releases of
 * the contingency reserve (the share of the limit held back, freed whole or in part). Both are
 * requested by anyone who can see the budget and decided by its owner, finance or an admin;
 * both hold from approval until they expire (by default at the end of the budget's window).
 * Admission reads them through the budget index: guard.limitOf adds overrides and subtracts the
 * reserve still held, so a hard cap stays exact on one path.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Actor } from '../access/actor.js';
import { Approvals } from '../config/approvals.js';
import { parsed } from '../config/managed.js';
import { BursarError } from '../core/errors.js';
import { decimalText, formatAmount, formatMoneyExact, parseDecimal } from '../core/money.js';
import type { ConfigStore, EventLog } from '../core/ports.js';
import type { BudgetIndex } from './budget-index.js';
import { OVERRIDE_KIND, RELEASE_KIND, overrideBodySchema, type Budget, type OverrideBody } from './model.js';
import { windowAt, type Calendar } from './windows.js';

const amount = z.string().regex(/^\d+(\.\d{1,9})?$/, 'must be a decimal string such as "100.00"');
const raiseFields = {
  reason: z.string().min(1).max(1000),
  member: z.string().optional(),
  /** ISO date-time; default: the end of the budget's current window. */
  expires_at: z.iso.datetime({ offset: true }).optional(),
};
export const overrideRequestInput = z.strictObject({ amount, ...raiseFields });
/** Without an amount: the whole reserve still held. */
export const releaseRequestInput = z.strictObject({ amount: amount.optional(), ...raiseFields });

export type RaiseKind = typeof OVERRIDE_KIND | typeof RELEASE_KIND;

export interface RaiseDeps {
  readonly store: ConfigStore;
  readonly index: BudgetIndex;
  readonly events: EventLog;
  readonly calendar: Calendar;
  /** The budget as the actor may see it (throws not_found otherwise). */
  readonly visible: (id: string, actor: Actor) => Promise<Budget>;
  readonly canSee: (actor: Actor, b: Budget) => boolean;
}

const NOUN: Record<RaiseKind, string> = { [OVERRIDE_KIND]: 'override', [RELEASE_KIND]: 'reserve release' };
const CLI: Record<RaiseKind, string> = { [OVERRIDE_KIND]: 'bursar overrides', [RELEASE_KIND]: 'bursar reserves' };

export class BudgetRaises {
  private readonly approvals: Record<RaiseKind, Approvals<OverrideBody>>;

  constructor(private readonly d: RaiseDeps) {
    const make = (kind: RaiseKind) =>
      new Approvals(d.store, kind, NOUN[kind], overrideBodySchema, (o) => `budget:${o.budget}`, (o) => ({ amount: o.amount, currency: o.currency, member: o.member }), `${CLI[kind]} list`);
    this.approvals = { [OVERRIDE_KIND]: make(OVERRIDE_KIND), [RELEASE_KIND]: make(RELEASE_KIND) };
  }

  view(kind: RaiseKind, id: string, body: OverrideBody, at: number): Record<string, unknown> {
    return this.approvals[kind].view(id, body, at);
  }

  async request(kind: RaiseKind, budgetId: string, input: unknown, actor: Actor): Promise<Record<string, unknown>> {
    const b = await this.d.visible(budgetId, actor);
    const r = parsed((kind === OVERRIDE_KIND ? overrideRequestInput : releaseRequestInput).safeParse(input), NOUN[kind]);
    const now = Date.now();
    const window = windowAt(b.window, now, this.d.calendar);
    const member = r.member ?? (b.per === 'user' && actor.role === 'member' ? actor.user : null);
    if (b.per && member === null) throw new BursarError('validation_failed', `Budget "${b.name}" is per ${b.per}: say which member the ${NOUN[kind]} is for (member).`, { param: 'member' });
    const expires = r.expires_at ? Date.parse(r.expires_at) : window.end;
    if (expires <= now) throw new BursarError('validation_failed', 'expires_at must be in the future.', { param: 'expires_at' });
    const nano = kind === OVERRIDE_KIND ? parseDecimal(r.amount!) : this.releasable(b, member, r.amount, now);
    const id = `${kind === OVERRIDE_KIND ? 'ovr' : 'rsv'}_${randomBytes(6).toString('hex')}`;
    const body = overrideBodySchema.parse({
      budget: b.id, member, amount: kind === OVERRIDE_KIND ? r.amount : decimalText(nano), currency: b.currency, reason: r.reason,
      requested_by: actor.label, requested_at: now, status: 'requested', expires_at: expires,
    });
    await this.approvals[kind].file(id, body, actor);
    await this.d.events.record({
      id: `${kind}|${id}|requested`, ts: now, kind: `${kind}_requested`, budget: b.id,
      details: { [kind]: id, amount: formatAmount({ nano, currency: b.currency }), requested_by: actor.label, owner: b.owner, reason: body.reason },
    });
    return this.approvals[kind].view(id, body, now);
  }

  async decide(kind: RaiseKind, id: string, decision: 'approve' | 'deny', note: string, actor: Actor): Promise<Record<string, unknown>> {
    const ownerOf = (o: OverrideBody) => this.d.index.get(o.budget)?.owner ?? null;
    const body = await this.approvals[kind].decide(
      id, decision, note, actor,
      (o) => (actor.user !== null && actor.user === ownerOf(o)) || actor.role === 'admin' || actor.role === 'finance',
      (o) => `the owner of budget "${o.budget}"${ownerOf(o) ? ` (${ownerOf(o)})` : ''}, finance or an admin`,
    );
    return this.approvals[kind].view(id, body, Date.now());
  }

  async list(kind: RaiseKind, actor: Actor, budget?: string): Promise<Record<string, unknown>[]> {
    const now = Date.now();
    return (await this.approvals[kind].list())
      .filter((o) => (!budget || o.body.budget === budget) && (() => {
        const b = this.d.index.get(o.body.budget);
        return b ? this.d.canSee(actor, b) : actor.role === 'admin' || actor.role === 'finance';
      })())
      .map((o) => this.approvals[kind].view(o.id, o.body, now));
  }

  /** Marks approved raises of both kinds past their expiry as expired, each audited. Returns how many. */
  async expire(now = Date.now()): Promise<number> {
    return (await this.approvals[OVERRIDE_KIND].expire(now)) + (await this.approvals[RELEASE_KIND].expire(now));
  }

  /** What a release may free: the amount asked (or all that is held), never more than the reserve still held. */
  private releasable(b: Budget, member: string | null, asked: string | undefined, now: number): bigint {
    if (b.reserveNano === null) throw new BursarError('validation_failed', `Budget "${b.name}" has no contingency reserve; add reserve: "25%" to it, or request an override: bursar overrides request ${b.id}.`, { param: 'budget' });
    const held = this.d.index.heldReserve(b, member, now);
    const money = (n: bigint) => formatAmount({ nano: n, currency: b.currency });
    if (held === 0n) throw new BursarError('conflict', `Budget "${b.name}" has released its whole reserve (${money(b.reserveNano)}) for this window; request an override for more.`);
    const nano = asked === undefined ? held : parseDecimal(asked);
    if (nano <= 0n) throw new BursarError('validation_failed', 'amount must be more than zero.', { param: 'amount' });
    if (nano > held) throw new BursarError('validation_failed', `amount: ${money(nano)} is more than the ${formatMoneyExact({ nano: held, currency: b.currency })} of budget "${b.name}" still held in reserve.`, { param: 'amount' });
    return nano;
  }
}
