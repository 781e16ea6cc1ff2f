/**
 * Records declared in bursar.yaml or made through the admin API (routes, registered workflows):
 * one kind of config record, each marked with who manages it. bursar.yaml's are applied at
 * start (added, changed, removed to match the file) and can only change there; the API's are
 * created, changed and removed by admins, each write audited. Every replica follows the kind
 * (config/follow.ts), so a change applies everywhere without a restart.
 */
import { assertRole, type Actor } from '../access/actor.js';
import type { Role } from '../access/records.js';
import { BursarError } from '../core/errors.js';
import type { ConfigStore } from '../core/ports.js';
import { follow, type Follower } from './follow.js';

export interface Managed<S> {
  readonly spec: S;
  readonly managed_by: 'config' | 'api';
}

export class ManagedRecords<S extends { readonly id: string }> {
  /**
   * `noun`: how people call one ("route"); `check` validates an input into a spec, throwing a
   * BursarError that names the field; `cli`: the command that lists them, for messages.
   */
  constructor(
    private readonly store: ConfigStore,
    readonly kind: string,
    private readonly noun: string,
    private readonly check: (input: unknown) => S,
    private readonly cli: string,
    /** Who may create, change and remove them through the API. */
    private readonly writers: readonly Role[] = ['admin'],
  ) {}

  async list(): Promise<Managed<S>[]> {
    return (await this.store.list(this.kind)).map((r) => r.body as unknown as Managed<S>);
  }

  async get(id: string): Promise<Managed<S> & { version: number }> {
    const r = await this.store.get(this.kind, id);
    if (!r) throw new BursarError('not_found', `No ${this.noun} "${id}"; list them with \`${this.cli}\`.`);
    return { ...(r.body as unknown as Managed<S>), version: r.version };
  }

  async create(input: unknown, actor: Actor): Promise<S> {
    assertRole(actor, this.writers, `create a ${this.noun}`);
    const spec = this.check(input);
    if (await this.store.get(this.kind, spec.id)) throw new BursarError('conflict', `The ${this.noun} "${spec.id}" exists; change it with PUT, or choose another id.`);
    await this.store.write(
      { kind: this.kind, id: spec.id, body: { spec, managed_by: 'api' }, expectVersion: 0 },
      { actor: actor.label, action: `${this.kind}.create`, target: `${this.kind}:${spec.id}`, details: { spec } },
    );
    return spec;
  }

  async update(id: string, input: unknown, actor: Actor): Promise<S> {
    assertRole(actor, this.writers, `change a ${this.noun}`);
    const current = await this.apiManaged(id, 'change');
    const spec = this.check({ ...(input && typeof input === 'object' ? input : {}), id });
    await this.store.write(
      { kind: this.kind, id, body: { spec, managed_by: 'api' }, expectVersion: current.version },
      { actor: actor.label, action: `${this.kind}.update`, target: `${this.kind}:${id}`, details: { before: current.spec, after: spec } },
    );
    return spec;
  }

  async remove(id: string, actor: Actor): Promise<void> {
    assertRole(actor, this.writers, `remove a ${this.noun}`);
    const current = await this.apiManaged(id, 'remove');
    await this.store.write({ kind: this.kind, id, body: null, expectVersion: current.version }, { actor: actor.label, action: `${this.kind}.remove`, target: `${this.kind}:${id}`, details: {} });
  }

  /** Makes the store's config-managed records match bursar.yaml's. */
  async applyConfig(specs: readonly S[]): Promise<void> {
    const stored = new Map((await this.store.list(this.kind)).map((r) => [r.id, r]));
    for (const spec of specs) {
      const cur = stored.get(spec.id);
      const body = cur?.body as unknown as Managed<S> | undefined;
      if (body?.managed_by === 'api') throw new BursarError('conflict', `The ${this.noun} "${spec.id}" in bursar.yaml was created through the admin API; remove it there first, or choose another id.`);
      if (body && JSON.stringify(body.spec) === JSON.stringify(spec)) continue;
      await this.store.write(
        { kind: this.kind, id: spec.id, body: { spec, managed_by: 'config' }, expectVersion: cur?.version ?? 0 },
        { actor: 'config', action: `${this.kind}.${cur ? 'update' : 'create'}`, target: `${this.kind}:${spec.id}`, details: cur ? { before: body?.spec, after: spec } : { spec } },
      );
    }
    const declared = new Set(specs.map((s) => s.id));
    for (const [id, r] of stored) {
      if ((r.body as unknown as Managed<S>).managed_by !== 'config' || declared.has(id)) continue;
      await this.store.write({ kind: this.kind, id, body: null, expectVersion: r.version }, { actor: 'config', action: `${this.kind}.remove`, target: `${this.kind}:${id}`, details: {} });
    }
  }

  /** Calls `onChange` with every spec now, and again after each change (from any replica). */
  follow(onChange: (specs: S[]) => void, onError?: (err: unknown) => void): Promise<Follower> {
    const held = new Map<string, S>();
    return follow(this.store, [this.kind], {
      put: (r) => held.set(r.id, (r.body as unknown as Managed<S>).spec),
      remove: (_kind, id) => held.delete(id),
      clear: () => held.clear(),
      changed: () => onChange([...held.values()]),
    }, onError);
  }

  private async apiManaged(id: string, verb: string): Promise<Managed<S> & { version: number }> {
    const current = await this.get(id);
    if (current.managed_by === 'config') throw new BursarError('conflict', `The ${this.noun} "${id}" is declared in bursar.yaml; ${verb} it there.`);
    return current;
  }
}

/** A zod-style parse whose first issue becomes a validation_failed error naming the field. */
export function parsed<T>(r: { success: true; data: T } | { success: false; error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] } }, noun: string): T {
  if (r.success) return r.data;
  const i = r.error.issues[0]!;
  const path = i.path.map(String).join('.');
  throw new BursarError('validation_failed', `${path || noun}: ${i.message}`, { param: path });
}
