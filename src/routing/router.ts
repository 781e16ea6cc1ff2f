/**
 * Turns the model a call names into the model it is served by: a route's tier (named, the
 * route's default, or the key's default route), stepped down by the route's downgrade ladder as
 * the budgets covering the call fill up. A call that names no route and whose key has none goes
 * to the model it names.
 */
import { BursarError } from '../core/errors.js';
import { ROUTE_PREFIX, type RouteSpec } from './model.js';

export interface Routed {
  /** The model to resolve in the catalog (bare, or provider/model). */
  readonly model: string;
  readonly route: string | null;
  readonly tier: string | null;
  /** Why this tier, in words (sent as x-bursar-routing). */
  readonly reason: string | null;
  /** The route's cap on output tokens, and on prompt tokens, if any. */
  readonly maxOutput: number | null;
  readonly maxInput: number | null;
  /** The tier before the ladder stepped it down, if it did. */
  readonly downgradedFrom: string | null;
  /** The tier's other deployments (weighted load balancing), tried first when its model fails. */
  readonly alternates: readonly string[];
  /** The model the call fell back from (its first choice failed), if it did. */
  readonly fellBackFrom: string | null;
  /** The reason given for a tier stronger than the route's default, if one was asked for. */
  readonly exception: string | null;
  /** The model the call asked for, to price what routing saved: the model named, or the route's tier before any downgrade. */
  readonly baselineModel: string | null;
  /** Whether the route's answers go to human review. */
  readonly humanReview: boolean;
  /** The data class every call of the route carries at least; and the classes it may carry (null: any). */
  readonly dataClass: string | null;
  readonly dataClasses: readonly string[] | null;
  /** The route's response cache, if it has one. */
  readonly cache: RouteSpec['cache'] | null;
}

/** How full the fullest money budget covering the call is, in percent, and which budget. */
export type SpentShare = () => Promise<{ readonly percent: number; readonly budget: string } | null>;

/** What routing needs to know of a call beyond the model it names. */
export interface RouteContext {
  readonly share: SpentShare;
  /** The caller's reason for a tier stronger than the route's default (x-bursar-exception), if given. */
  readonly exception: string | null;
  /** The approved exception covering the call at this tier of this route (routes with `exceptions: approval`), if any. */
  readonly approved: (spec: RouteSpec, tier: string) => string | null;
}

/** A call that names no route and whose key has none: served by the model it names. */
export const NOT_ROUTED = (model: string): Routed => ({
  model, route: null, tier: null, reason: null, maxOutput: null, maxInput: null, downgradedFrom: null, alternates: [], fellBackFrom: null, exception: null, dataClass: null, dataClasses: null,
  baselineModel: null, humanReview: false, cache: null,
});

/** A tier's deployments: one model, or the same model on several providers with weights. */
type Deployments = readonly { readonly model: string; readonly weight: number }[];
const deploymentsOf = (v: RouteSpec['tiers'][string]): Deployments => (typeof v === 'string' ? [{ model: v, weight: 1 }] : v);

export class Router {
  private routes: ReadonlyMap<string, RouteSpec> = new Map();
  /** Smooth weighted round robin state per route and tier (nginx's: even spread, no bursts). */
  private readonly current = new Map<string, number[]>();

  /** `check` resolves a tier's model as a call would (throws if no provider serves it). */
  constructor(specs: readonly RouteSpec[], private readonly check: (model: string) => void) {
    specs.forEach((r, i) => this.validate(r, `routes[${i}]`));
    this.routes = new Map(specs.map((r) => [r.id, r]));
  }

  /** Throws, naming the field (`where` prefixes it), if a tier's or fallback's model is served by no provider. */
  validate(r: RouteSpec, where: string): void {
    const at = (path: string, model: string) => {
      try {
        this.check(model);
      } catch (err) {
        throw new Error(`${where}${path}: ${err instanceof Error ? err.message : String(err)}`);
      }
    };
    for (const [tier, v] of Object.entries(r.tiers)) deploymentsOf(v).forEach((d, j) => at(`.tiers.${tier}${typeof v === 'string' ? '' : `[${j}].model`}`, d.model));
    r.fallbacks.forEach((model, j) => at(`.fallbacks[${j}]`, model));
  }

  /** Serves these routes from now on (a change made through the admin API, on any replica); an invalid one is left out and reported. */
  replace(specs: readonly RouteSpec[], onInvalid: (err: unknown, id: string) => void): void {
    const next = new Map<string, RouteSpec>();
    for (const r of specs) {
      try {
        this.validate(r, `route "${r.id}"`);
        next.set(r.id, r);
      } catch (err) {
        onInvalid(err, r.id);
      }
    }
    this.routes = next;
  }

  get size(): number {
    return this.routes.size;
  }

  has(id: string): boolean {
    return this.routes.has(id);
  }

  /** Every route as declared. */
  all(): RouteSpec[] {
    return [...this.routes.values()];
  }

  /** Whether a call is routed at all: it names a route, or its key has a default one (the rest skip route()). */
  applies(requested: string, keyRoute: string | null): boolean {
    return keyRoute !== null || requested.startsWith(ROUTE_PREFIX);
  }

  async route(requested: string, keyRoute: string | null, ctx: RouteContext): Promise<Routed> {
    let spec: RouteSpec;
    let tier: string;
    let reason: string;
    let excepted: string | null = null;
    if (requested.startsWith(ROUTE_PREFIX)) {
      const [id = '', named] = requested.slice(ROUTE_PREFIX.length).split('/', 2);
      spec = this.get(id, 'model');
      tier = named ?? spec.default_tier;
      if (!(tier in spec.tiers)) {
        throw new BursarError('unknown_tier', `Route "${spec.id}" has no tier "${tier}"; its tiers are ${Object.keys(spec.tiers).join(', ')}.`, { param: 'model' });
      }
      reason = named === undefined ? 'default tier' : 'tier requested';
      const order = Object.keys(spec.tiers);
      if (order.indexOf(tier) < order.indexOf(spec.default_tier)) {
        // Stronger than the default: an exception, with a reason, where the route allows them.
        if (spec.exceptions === 'refuse') {
          throw new BursarError('exception_refused', `Route "${spec.id}" serves tier "${spec.default_tier}" and weaker; it allows no exceptions to "${tier}". Ask its owner${spec.owner ? ` (${spec.owner})` : ''} if this work needs a stronger model.`, { param: 'model' });
        }
        if (ctx.exception === null) {
          throw new BursarError('exception_reason_required', `Tier "${tier}" is stronger than route "${spec.id}"'s default ("${spec.default_tier}"): say why in the x-bursar-exception header (e.g. "x-bursar-exception: contract over 50 pages"); the reason is recorded with the call.`, { param: 'model' });
        }
        excepted = ctx.exception;
        if (spec.exceptions === 'approval') {
          const approval = ctx.approved(spec, tier);
          if (approval === null) {
            throw new BursarError('exception_needs_approval', `Route "${spec.id}" serves tier "${tier}" only under an approved exception, and none covers this call. Ask for one: bursar exceptions request ${spec.id} --tier ${tier} --workflow <workflow> (or --key, --user, --agent, --project, --department) --reason "<why>"; ${spec.owner ? `its owner (${spec.owner})` : 'finance or an admin'} approves it.`, { param: 'model' });
          }
          excepted = `${approval}: ${ctx.exception}`;
        }
        reason = `exception: ${excepted}`;
      }
    } else if (keyRoute !== null) {
      spec = this.get(keyRoute, null);
      // A model the route serves picks its tier; any other goes to the route's default.
      const named = Object.entries(spec.tiers).find(([, v]) => deploymentsOf(v).some(({ model: m }) => m === requested || m.endsWith(`/${requested}`)));
      tier = named ? named[0] : spec.default_tier;
      reason = named ? 'key default route, tier of the model requested' : 'key default route, default tier';
    } else {
      return NOT_ROUTED(requested);
    }
    // A model named by the caller is what routing is measured against; a route named, its tier before the ladder.
    const baselineModel = requested.startsWith(ROUTE_PREFIX) ? deploymentsOf(spec.tiers[tier]!)[0]!.model : requested;
    let downgradedFrom: string | null = null;
    if (spec.downgrade.length) {
      const s = await ctx.share();
      const step = s ? this.stepDown(spec, tier, s.percent) : null;
      if (s && step) {
        downgradedFrom = tier;
        tier = step.to;
        reason = `downgraded from ${downgradedFrom}: budget "${s.budget}" is at ${Math.floor(s.percent)}% (the route steps down at ${step.at}%)`;
      }
    }
    return {
      ...this.pick(spec, tier), route: spec.id, tier, reason, maxOutput: spec.max_output_tokens ?? null, maxInput: spec.max_input_tokens ?? null, downgradedFrom, fellBackFrom: null, exception: excepted,
      dataClass: spec.data_class ?? null, dataClasses: spec.data_classes ?? null, baselineModel, humanReview: spec.human_review, cache: spec.cache ?? null,
    };
  }

  /** The models a routed call may fall back to, in order: its tier's other deployments, then the route's fallbacks. */
  fallbacks(r: Routed): string[] {
    const spec = r.route ? this.routes.get(r.route) : undefined;
    if (!spec) return [];
    const out = [...r.alternates, ...spec.fallbacks].filter((m) => m !== r.model);
    return [...new Set(out)];
  }

  /** One deployment of a tier by smooth weighted round robin; the others become its first fallbacks. */
  private pick(spec: RouteSpec, tier: string): { model: string; alternates: string[] } {
    const ds = deploymentsOf(spec.tiers[tier]!);
    if (ds.length === 1) return { model: ds[0]!.model, alternates: [] };
    const key = `${spec.id}/${tier}`;
    const cur = this.current.get(key) ?? ds.map(() => 0);
    let total = 0;
    let best = 0;
    ds.forEach((d, i) => {
      cur[i]! += d.weight;
      total += d.weight;
      if (cur[i]! > cur[best]!) best = i;
    });
    cur[best]! -= total;
    this.current.set(key, cur);
    return { model: ds[best]!.model, alternates: ds.filter((_, i) => i !== best).map((d) => d.model) };
  }

  private get(id: string, param: string | null): RouteSpec {
    const spec = this.routes.get(id);
    if (!spec) {
      throw new BursarError('unknown_route', `No route "${id}"${param ? '' : " (the key's default route)"}; routes: ${[...this.routes.keys()].join(', ') || 'none are declared'}.`, param ? { param } : {});
    }
    return spec;
  }

  /** The highest rung at or below `percent` that is weaker than `tier` (tiers are listed strongest first). */
  private stepDown(spec: RouteSpec, tier: string, percent: number): { at: number; to: string } | null {
    const order = Object.keys(spec.tiers);
    let best: { at: number; to: string } | null = null;
    for (const d of spec.downgrade) {
      if (percent < d.at || (best && d.at < best.at)) continue;
      best = d;
    }
    return best && order.indexOf(best.to) > order.indexOf(tier) ? best : null;
  }
}
