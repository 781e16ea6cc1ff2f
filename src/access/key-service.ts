/**
 * Virtual keys: create, list, rotate, revoke, suspend and resume. Each change is one audited
 * write; the secret is returned once by create and rotate and never stored.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { BursarError } from '../core/errors.js';
import type { OrgTree } from '../core/org.js';
import type { ConfigStore } from '../core/ports.js';
import { METADATA_FIELDS } from '../config/schema.js';
import { assertCanManage, canSee, type Actor } from './actor.js';
import { issueCredential, KEY_PREFIX } from './credential.js';
import { KEY_KIND, actForSchema, keyBodySchema, type Attribution, type KeyBody } from './records.js';

const slug = z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,62}$/, 'must be a lower-case slug');

export const createKeyInput = z.strictObject({
  label: z.string().min(1).max(128),
  department: slug.optional(),
  team: slug.optional(),
  project: slug.optional(),
  application: z.string().min(1).max(128).optional(),
  environment: slug.optional(),
  user: slug.optional(),
  /** ISO 8601 date-time; omitted: the key does not expire. */
  expires_at: z.iso.datetime({ offset: true }).optional(),
  allowed_models: z.array(z.string().min(1)).optional(),
  /** The route calls go by when their model names none. */
  default_route: slug.optional(),
  /** Calls on the key carry at least this data class. */
  data_class: slug.optional(),
  required_metadata: z.array(z.enum(METADATA_FIELDS)).optional(),
  act_for: actForSchema.optional(),
  tags: z.record(z.string(), z.string()).optional(),
});
export type CreateKeyInput = z.infer<typeof createKeyInput>;

/** A key as the API shows it: everything but the hash. */
export interface KeyView extends Omit<KeyBody, 'hash' | 'previous'> {
  readonly id: string;
  readonly previous_valid_until: number | null;
}

export function keyView(id: string, body: KeyBody): KeyView {
  const { hash: _hash, previous, ...rest } = body;
  return { id, ...rest, previous_valid_until: previous?.until ?? null };
}

export class KeyService {
  constructor(
    private readonly store: ConfigStore,
    private readonly org: OrgTree,
    /** Onboarding control: when set, a key is only issued where a budget with an owner covers it. */
    private readonly budgetCovers: ((a: Attribution) => boolean) | null = null,
    /** Declared routes and data classes (a key's default route and data class must be). */
    private readonly declared: { readonly routeExists: (id: string) => boolean; readonly dataClasses: readonly string[] } = { routeExists: () => false, dataClasses: [] },
  ) {}

  async create(input: CreateKeyInput, actor: Actor): Promise<{ key: KeyView; secret: string }> {
    const attribution = this.completeAttribution(input);
    assertCanManage(actor, attribution.department, 'create keys');
    if (this.budgetCovers && !this.budgetCovers(attribution)) {
      const where = attribution.project ? `project "${attribution.project}"` : attribution.department ? `department "${attribution.department}"` : 'a key without a department or project';
      throw new BursarError('validation_failed', `No budget with an owner covers ${where}, and the budget policy requires one before keys are issued. Create a budget for it first (bursar budgets create).`, { param: 'project' });
    }
    if (input.data_class !== undefined && !this.declared.dataClasses.includes(input.data_class)) {
      throw new BursarError('validation_failed', `data_class: "${input.data_class}" is not a declared data class (${this.declared.dataClasses.join(', ')}).`, { param: 'data_class' });
    }
    if (input.default_route !== undefined && !this.declared.routeExists(input.default_route)) {
      throw new BursarError('validation_failed', `default_route: no route "${input.default_route}" is declared; declare it under routes: in bursar.yaml or with "bursar routes create" (docs/routing.md).`, { param: 'default_route' });
    }
    const expiresAt = input.expires_at ? Date.parse(input.expires_at) : null;
    if (expiresAt !== null && expiresAt <= Date.now()) {
      throw new BursarError('validation_failed', `expires_at ${input.expires_at} is in the past; give a future date-time.`, { param: 'expires_at' });
    }
    for (const existing of await this.store.list(KEY_KIND)) {
      const b = keyBodySchema.parse(existing.body);
      if (b.label === input.label && b.status !== 'revoked') {
        throw new BursarError('conflict', `A key labelled "${input.label}" already exists (${existing.id}); choose another label or revoke that key.`);
      }
    }
    const cred = issueCredential(KEY_PREFIX);
    const id = `key_${randomBytes(6).toString('hex')}`;
    const body: KeyBody = keyBodySchema.parse({
      label: input.label,
      prefix: cred.prefix,
      hash: cred.hash,
      status: 'active',
      created_at: Date.now(),
      created_by: actor.label,
      expires_at: expiresAt,
      attribution,
      allowed_models: input.allowed_models ?? null,
      default_route: input.default_route ?? null,
      data_class: input.data_class ?? null,
      required_metadata: input.required_metadata ?? null,
      act_for: input.act_for ?? null,
      tags: input.tags ?? {},
    });
    await this.store.write(
      { kind: KEY_KIND, id, body, expectVersion: 0 },
      { actor: actor.label, action: 'key.create', target: `key:${id}`, details: { label: body.label, prefix: body.prefix, attribution, expires_at: expiresAt } },
    );
    return { key: keyView(id, body), secret: cred.secret };
  }

  async list(actor: Actor): Promise<KeyView[]> {
    const out: KeyView[] = [];
    for (const r of await this.store.list(KEY_KIND)) {
      const body = keyBodySchema.parse(r.body);
      if (canSee(actor, body.attribution.department, body.attribution.user)) out.push(keyView(r.id, body));
    }
    return out;
  }

  /** Finds a key by id or label, within what the actor may see. */
  async get(ref: string, actor: Actor): Promise<{ id: string; body: KeyBody; version: number }> {
    const direct = await this.store.get(KEY_KIND, ref);
    let found = direct ? { id: direct.id, body: keyBodySchema.parse(direct.body), version: direct.version } : undefined;
    if (!found) {
      for (const r of await this.store.list(KEY_KIND)) {
        const body = keyBodySchema.parse(r.body);
        if (body.label === ref && (!found || found.body.status === 'revoked')) found = { id: r.id, body, version: r.version };
      }
    }
    if (!found || !canSee(actor, found.body.attribution.department, found.body.attribution.user)) {
      throw new BursarError('not_found', `No key "${ref}" that you can see; list keys with \`bursar keys list\`.`);
    }
    return found;
  }

  /** A new secret for the same key; the old one keeps working for `graceSeconds` (default: not at all). */
  async rotate(ref: string, graceSeconds: number, actor: Actor): Promise<{ key: KeyView; secret: string }> {
    const k = await this.get(ref, actor);
    assertCanManage(actor, k.body.attribution.department, 'rotate keys');
    if (k.body.status === 'revoked') throw new BursarError('conflict', `Key "${k.body.label}" is revoked; create a new key instead.`);
    const cred = issueCredential(KEY_PREFIX);
    const now = Date.now();
    const body: KeyBody = {
      ...k.body,
      hash: cred.hash,
      prefix: cred.prefix,
      previous: graceSeconds > 0 ? { hash: k.body.hash, until: now + graceSeconds * 1000 } : null,
    };
    await this.store.write(
      { kind: KEY_KIND, id: k.id, body, expectVersion: k.version },
      { actor: actor.label, action: 'key.rotate', target: `key:${k.id}`, details: { label: body.label, prefix: body.prefix, grace_seconds: graceSeconds } },
    );
    return { key: keyView(k.id, body), secret: cred.secret };
  }

  revoke(ref: string, reason: string, actor: Actor): Promise<KeyView> {
    return this.setStatus(ref, 'revoked', reason, actor);
  }

  suspend(ref: string, reason: string, actor: Actor): Promise<KeyView> {
    return this.setStatus(ref, 'suspended', reason, actor);
  }

  resume(ref: string, reason: string, actor: Actor): Promise<KeyView> {
    return this.setStatus(ref, 'active', reason, actor);
  }

  private async setStatus(ref: string, status: KeyBody['status'], reason: string, actor: Actor): Promise<KeyView> {
    const k = await this.get(ref, actor);
    const verb = status === 'active' ? 'resume' : status === 'revoked' ? 'revoke' : 'suspend';
    assertCanManage(actor, k.body.attribution.department, `${verb} keys`);
    if (k.body.status === 'revoked') throw new BursarError('conflict', `Key "${k.body.label}" is already revoked; a revoked key cannot change.`);
    const body: KeyBody = { ...k.body, status, revoked_at: status === 'revoked' ? Date.now() : null, previous: status === 'revoked' ? null : k.body.previous };
    await this.store.write(
      { kind: KEY_KIND, id: k.id, body, expectVersion: k.version },
      { actor: actor.label, action: `key.${verb}`, target: `key:${k.id}`, details: { label: body.label, reason } },
    );
    return keyView(k.id, body);
  }

  /** Fills department and team from the project (or team, or user) and checks every reference. */
  private completeAttribution(input: CreateKeyInput): Attribution {
    const org = this.org;
    const fail = (param: string, msg: string): never => {
      throw new BursarError('validation_failed', msg, { param });
    };
    let department = input.department ?? null;
    let team = input.team ?? null;
    if (input.project) {
      const p = org.projects.get(input.project) ?? fail('project', `Project "${input.project}" is not in bursar.yaml; declare it under a department's projects.`);
      if (department && department !== p.department) fail('project', `Project "${p.id}" belongs to department "${p.department}", not "${department}".`);
      if (team && p.team && team !== p.team) fail('team', `Project "${p.id}" belongs to team "${p.team}", not "${team}".`);
      department = p.department;
      team = team ?? p.team;
    }
    if (team) {
      const t = org.teams.get(team) ?? fail('team', `Team "${team}" is not in bursar.yaml; declare it under a department's teams.`);
      if (department && department !== t.department) fail('team', `Team "${team}" belongs to department "${t.department}", not "${department}".`);
      department = t.department;
    }
    if (input.user) {
      const u = org.users.get(input.user) ?? fail('user', `User "${input.user}" is not in bursar.yaml; declare them under users.`);
      department = department ?? u.department;
    }
    if (department && !org.departments.has(department)) fail('department', `Department "${department}" is not in bursar.yaml; declare it under departments.`);
    for (const d of input.act_for?.departments ?? []) {
      if (d !== '*' && !org.departments.has(d)) fail('act_for.departments', `Department "${d}" in act_for is not in bursar.yaml.`);
    }
    for (const u of input.act_for?.users ?? []) {
      if (u !== '*' && !org.users.has(u)) fail('act_for.users', `User "${u}" in act_for is not in bursar.yaml.`);
    }
    return {
      department,
      team,
      project: input.project ?? null,
      application: input.application ?? null,
      environment: input.environment ?? null,
      user: input.user ?? null,
    };
  }
}
