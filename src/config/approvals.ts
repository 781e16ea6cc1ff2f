/**
 * Requests that someone approves before they take effect, for a while: budget overrides (a
 * temporary raise) and route exceptions (a stronger tier for some calls). One lifecycle for
 * both: requested -> approved or denied; an approved one expires at its `expires_at` (at once
 * for admission, which compares the time; the sweep marks it for the record). Each step is one
 * audited ConfigStore write, so every replica sees it on its next call.
 */
import { z } from 'zod';
import { BursarError } from '../core/errors.js';
import type { ConfigStore } from '../core/ports.js';
import type { Actor } from '../access/actor.js';

/** The fields every approvable request carries, beside its own. */
export const approvalFields = {
  reason: z.string().min(1).max(1000),
  requested_by: z.string(),
  requested_at: z.number(),
  /** "expired": an approved request past its expiry, marked (and audited) by Bursar. */
  status: z.enum(['requested', 'approved', 'denied', 'expired']),
  decided_by: z.string().nullable().default(null),
  decided_at: z.number().nullable().default(null),
  expires_at: z.number(),
  note: z.string().max(1000).default(''),
};

export type ApprovalBody = { -readonly [K in keyof typeof approvalFields]: z.infer<(typeof approvalFields)[K]> };

/** Whether an approval counts at `at`: approved, and not past its expiry. */
export const inForce = (b: ApprovalBody, at: number): boolean => b.status === 'approved' && b.expires_at > at;

export class Approvals<B extends ApprovalBody> {
  /**
   * `noun`: how people call one ("override"); `target`: the audit target it concerns
   * ("budget:<id>"); `details`: what the audit log keeps of it; `cli`: the command that lists them.
   */
  constructor(
    private readonly store: ConfigStore,
    readonly kind: string,
    private readonly noun: string,
    private readonly schema: z.ZodType<B>,
    private readonly target: (b: B) => string,
    private readonly details: (b: B) => Record<string, unknown>,
    private readonly cli: string,
  ) {}

  /** How a request reads in the API: its state at `at` (an approved one past its expiry reads "expired" before the sweep marks it). */
  view(id: string, b: B, at: number): Record<string, unknown> {
    const state = b.status === 'approved' && b.expires_at <= at ? 'expired' : b.status;
    return { id, ...b, state, expires_at: new Date(b.expires_at).toISOString() };
  }

  async file(id: string, body: B, actor: Actor): Promise<void> {
    await this.store.write(
      { kind: this.kind, id, body, expectVersion: 0 },
      { actor: actor.label, action: `${this.kind}.request`, target: this.target(body), details: { [this.kind]: id, ...this.details(body), reason: body.reason } },
    );
  }

  async get(id: string): Promise<{ body: B; version: number }> {
    const r = await this.store.get(this.kind, id);
    if (!r) throw new BursarError('not_found', `No ${this.noun} "${id}"; list them with \`${this.cli}\`.`);
    return { body: this.schema.parse(r.body), version: r.version };
  }

  /** `who`: those who may decide, in words, when `may` says the actor is not one of them. */
  async decide(id: string, decision: 'approve' | 'deny', note: string, actor: Actor, may: (b: B) => boolean, who: (b: B) => string): Promise<B> {
    const { body: b, version } = await this.get(id);
    if (!may(b)) throw new BursarError('forbidden', `Only ${who(b)} can ${decision} this ${this.noun}.`);
    if (b.status !== 'requested') throw new BursarError('conflict', `The ${this.noun} "${id}" was already ${b.status}.`);
    const body: B = { ...b, status: decision === 'approve' ? 'approved' : 'denied', decided_by: actor.label, decided_at: Date.now(), note };
    await this.store.write(
      { kind: this.kind, id, body, expectVersion: version },
      { actor: actor.label, action: `${this.kind}.${decision}`, target: this.target(b), details: { [this.kind]: id, ...this.details(b), note } },
    );
    return body;
  }

  async list(): Promise<{ id: string; body: B }[]> {
    return (await this.store.list(this.kind)).map((r) => ({ id: r.id, body: this.schema.parse(r.body) }));
  }

  /** Marks approved requests past their expiry as expired, each with an audit entry. Returns how many. */
  async expire(now = Date.now()): Promise<number> {
    let n = 0;
    for (const r of await this.store.list(this.kind)) {
      const b = this.schema.parse(r.body);
      if (b.status !== 'approved' || b.expires_at > now) continue;
      try {
        await this.store.write(
          { kind: this.kind, id: r.id, body: { ...b, status: 'expired' }, expectVersion: r.version },
          { actor: 'system', action: `${this.kind}.expire`, target: this.target(b), details: { [this.kind]: r.id, ...this.details(b), expired_at: new Date(b.expires_at).toISOString() } },
        );
        n++;
      } catch (err) {
        if ((err as { code?: string }).code !== 'conflict') throw err; // another replica marked it first
      }
    }
    return n;
  }
}
