/**
 * Approved exceptions: on a route whose policy is `exceptions: approval`, a tier stronger than
 * its default is served only to calls an approved exception covers. Anyone may ask (for a key,
 * user, workflow, agent, project or department, with a reason and an expiry); the route's owner,
 * finance or an admin approves or denies. The gateway holds the approved ones in memory, kept
 * current on every replica, and checks them only for calls that ask for such a tier.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Actor } from '../access/actor.js';
import { Approvals, approvalFields, inForce } from '../config/approvals.js';
import { follow, type Follower } from '../config/follow.js';
import { parsed } from '../config/managed.js';
import type { Dims } from '../core/dimensions.js';
import { BursarError } from '../core/errors.js';
import type { ConfigStore } from '../core/ports.js';
import { slug, type RouteSpec } from './model.js';
import type { Router } from './router.js';

export const EXCEPTION_KIND = 'route_exception';

/** The dimensions an exception may be granted for: every one named must match the call's. */
export const EXCEPTION_SUBJECTS = ['key', 'user', 'workflow', 'agent', 'project', 'department'] as const;
type Subject = (typeof EXCEPTION_SUBJECTS)[number];

const subjectSchema = z
  .strictObject(Object.fromEntries(EXCEPTION_SUBJECTS.map((s) => [s, z.string().min(1).max(200).optional()])) as Record<Subject, z.ZodOptional<z.ZodString>>)
  .refine((f) => Object.values(f).some((v) => v !== undefined), `must name whose calls it covers: one or more of ${EXCEPTION_SUBJECTS.join(', ')}`);

export const exceptionBodySchema = z.strictObject({
  route: slug,
  /** The strongest tier it allows (and every tier between it and the route's default). */
  tier: slug,
  for: subjectSchema,
  ...approvalFields,
});
export type ExceptionBody = z.infer<typeof exceptionBodySchema>;

const DAY_MS = 86_400_000;

export const exceptionRequestInput = z.strictObject({
  route: slug,
  tier: slug,
  for: subjectSchema,
  reason: z.string().min(1).max(1000),
  /** ISO date-time; default: 30 days from now. */
  expires_at: z.iso.datetime({ offset: true }).optional(),
});

export class RouteExceptions {
  private readonly approvals: Approvals<ExceptionBody>;
  /** Approved exceptions by route (expired ones are skipped by time until the sweep marks them). */
  private approved = new Map<string, { id: string; body: ExceptionBody }[]>();
  private follower: Follower | null = null;

  constructor(
    private readonly store: ConfigStore,
    private readonly router: Router,
  ) {
    this.approvals = new Approvals(store, EXCEPTION_KIND, 'exception', exceptionBodySchema, (b) => `route:${b.route}`, (b) => ({ tier: b.tier, for: b.for }), 'bursar exceptions list');
  }

  /** Keeps the approved exceptions in memory, current on every replica. */
  async follow(onError?: (err: unknown) => void): Promise<void> {
    const held = new Map<string, ExceptionBody>();
    this.follower = await follow(this.store, [EXCEPTION_KIND], {
      put: (r) => held.set(r.id, exceptionBodySchema.parse(r.body)),
      remove: (_kind, id) => held.delete(id),
      clear: () => held.clear(),
      changed: () => {
        const next = new Map<string, { id: string; body: ExceptionBody }[]>();
        for (const [id, body] of held) {
          if (body.status !== 'approved') continue;
          const list = next.get(body.route) ?? [];
          list.push({ id, body });
          next.set(body.route, list);
        }
        this.approved = next;
      },
    }, onError);
  }

  close(): void {
    this.follower?.stop();
  }

  /** The id of an approved exception covering a call of `dims` at `tier` of `spec`, at `at`; null if none does. */
  covering(spec: RouteSpec, tier: string, dims: Dims, at: number): string | null {
    const order = Object.keys(spec.tiers);
    for (const { id, body } of this.approved.get(spec.id) ?? []) {
      if (!inForce(body, at) || order.indexOf(tier) < order.indexOf(body.tier)) continue;
      if (EXCEPTION_SUBJECTS.every((s) => body.for[s] === undefined || body.for[s] === dims[s])) return id;
    }
    return null;
  }

  async request(input: unknown, actor: Actor): Promise<Record<string, unknown>> {
    const r = parsed(exceptionRequestInput.safeParse(input), 'exception');
    const spec = this.router.all().find((s) => s.id === r.route);
    if (!spec) throw new BursarError('validation_failed', `route: no route "${r.route}"; list them with \`bursar routes list\`.`, { param: 'route' });
    const order = Object.keys(spec.tiers);
    if (!order.includes(r.tier)) throw new BursarError('validation_failed', `tier: route "${spec.id}" has no tier "${r.tier}"; its tiers are ${order.join(', ')}.`, { param: 'tier' });
    if (order.indexOf(r.tier) >= order.indexOf(spec.default_tier)) {
      throw new BursarError('validation_failed', `tier: "${r.tier}" is not stronger than route "${spec.id}"'s default ("${spec.default_tier}"); calls may use it without an exception.`, { param: 'tier' });
    }
    if (spec.exceptions !== 'approval') {
      const why = spec.exceptions === 'allow' ? 'allows exceptions without approval: send the reason in x-bursar-exception' : 'allows no exceptions';
      throw new BursarError('conflict', `Route "${spec.id}" ${why}.`, { param: 'route' });
    }
    const now = Date.now();
    const expires = r.expires_at ? Date.parse(r.expires_at) : now + 30 * DAY_MS;
    if (expires <= now) throw new BursarError('validation_failed', 'expires_at: must be in the future.', { param: 'expires_at' });
    const id = `exc_${randomBytes(6).toString('hex')}`;
    const body = exceptionBodySchema.parse({ route: spec.id, tier: r.tier, for: r.for, reason: r.reason, requested_by: actor.label, requested_at: now, status: 'requested', expires_at: expires });
    await this.approvals.file(id, body, actor);
    return this.approvals.view(id, body, now);
  }

  private ownerOf(b: ExceptionBody): string | null {
    return this.router.all().find((s) => s.id === b.route)?.owner ?? null;
  }

  /** The route's owner, finance and admins decide (and see every exception of it). */
  private decides(actor: Actor, b: ExceptionBody): boolean {
    return (actor.user !== null && actor.user === this.ownerOf(b)) || actor.role === 'admin' || actor.role === 'finance';
  }

  async decide(id: string, decision: 'approve' | 'deny', note: string, actor: Actor): Promise<Record<string, unknown>> {
    const body = await this.approvals.decide(
      id, decision, note, actor,
      (b) => this.decides(actor, b),
      (b) => `the owner of route "${b.route}"${this.ownerOf(b) ? ` (${this.ownerOf(b)})` : ''}, finance or an admin`,
    );
    return this.approvals.view(id, body, Date.now());
  }

  /** The exceptions of `route` (or all) the actor may see (those it decides, and those it asked for), newest first. */
  async list(actor: Actor, route?: string): Promise<Record<string, unknown>[]> {
    const now = Date.now();
    return (await this.approvals.list())
      .filter((e) => (!route || e.body.route === route) && (this.decides(actor, e.body) || e.body.requested_by === actor.label))
      .sort((a, b) => b.body.requested_at - a.body.requested_at)
      .map((e) => this.approvals.view(e.id, e.body, now));
  }

  expire(now = Date.now()): Promise<number> {
    return this.approvals.expire(now);
  }
}
