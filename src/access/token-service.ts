/**
 * Admin tokens (`bat_`): per-person credentials for the admin API, the CLI and the dashboard,
 * each with a role. Only admins issue and revoke them.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { BursarError } from '../core/errors.js';
import type { OrgTree } from '../core/org.js';
import type { ConfigStore } from '../core/ports.js';
import type { Secret } from '../config/secret.js';
import { assertRole, type Actor } from './actor.js';
import type { AccessIndex } from './access-index.js';
import { hashCredential, issueCredential, sameSecret, TOKEN_PREFIX } from './credential.js';
import { ROLES, TOKEN_KIND, tokenBodySchema, type TokenBody } from './records.js';

export const createTokenInput = z.strictObject({
  label: z.string().min(1).max(128),
  role: z.enum(ROLES),
  department: z.string().optional(),
  user: z.string().optional(),
});
export type CreateTokenInput = z.infer<typeof createTokenInput>;

export type TokenView = Omit<TokenBody, 'hash'> & { readonly id: string };

const view = (id: string, b: TokenBody): TokenView => {
  const { hash: _hash, ...rest } = b;
  return { id, ...rest };
};

export class TokenService {
  constructor(
    private readonly store: ConfigStore,
    private readonly org: OrgTree,
    private readonly index: AccessIndex,
    private readonly bootstrap: Secret | null,
  ) {}

  /** The actor behind a presented admin token, or an `unauthorized` error. */
  async authenticate(presented: string | undefined): Promise<Actor> {
    if (!presented) throw new BursarError('unauthorized', 'Send an admin token as "Authorization: Bearer bat_..." (see `bursar tokens create`).');
    if (this.bootstrap && sameSecret(presented, this.bootstrap.reveal())) {
      return { label: 'bootstrap-admin', role: 'admin', department: null, user: null };
    }
    const hash = hashCredential(presented);
    let entry = this.index.token(hash);
    if (!entry) {
      // Made a moment ago on another replica? Look once more when every change so far is in.
      await this.index.catchUp();
      entry = this.index.token(hash);
    }
    if (!entry || entry.body.revoked_at !== null) {
      throw new BursarError('unauthorized', 'The admin token is unknown or revoked; ask an admin for a new one.');
    }
    if (entry.body.expires_at !== null && entry.body.expires_at <= Date.now()) {
      throw new BursarError('unauthorized', 'The sign-in session has ended; sign in again.');
    }
    const b = entry.body;
    return { label: b.label, role: b.role, department: b.department, user: b.user };
  }

  async create(input: CreateTokenInput, actor: Actor): Promise<{ token: TokenView; secret: string }> {
    assertRole(actor, ['admin'], 'issue admin tokens');
    return this.issue(input, actor.label);
  }

  /** Issues a token without a role check: the first admin token at start-up. */
  async issue(input: CreateTokenInput, by: string, expiresAt: number | null = null): Promise<{ token: TokenView; secret: string }> {
    let department = input.department ?? null;
    const user = input.user ?? null;
    if (user !== null) {
      const u = this.org.users.get(user);
      if (!u) throw new BursarError('validation_failed', `User "${user}" is not in bursar.yaml.`, { param: 'user' });
      department = department ?? u.department;
    }
    if (input.role === 'manager' && !department) throw new BursarError('validation_failed', 'A manager token needs the department it manages.', { param: 'department' });
    if (input.role === 'member' && !user) throw new BursarError('validation_failed', 'A member token needs the user it belongs to.', { param: 'user' });
    if (department !== null && !this.org.departments.has(department)) {
      throw new BursarError('validation_failed', `Department "${department}" is not in bursar.yaml.`, { param: 'department' });
    }
    const cred = issueCredential(TOKEN_PREFIX);
    const id = `tok_${randomBytes(6).toString('hex')}`;
    const body = tokenBodySchema.parse({
      label: input.label, prefix: cred.prefix, hash: cred.hash, role: input.role, department, user,
      created_at: Date.now(), created_by: by, expires_at: expiresAt,
    });
    await this.store.write(
      { kind: TOKEN_KIND, id, body, expectVersion: 0 },
      { actor: by, action: 'token.create', target: `token:${id}`, details: { label: body.label, role: body.role, department, user, ...(expiresAt === null ? {} : { expires_at: new Date(expiresAt).toISOString() }) } },
    );
    return { token: view(id, body), secret: cred.secret };
  }

  async list(actor: Actor): Promise<TokenView[]> {
    assertRole(actor, ['admin'], 'list admin tokens');
    return (await this.store.list(TOKEN_KIND)).map((r) => view(r.id, tokenBodySchema.parse(r.body)));
  }

  async revoke(id: string, actor: Actor): Promise<TokenView> {
    assertRole(actor, ['admin'], 'revoke admin tokens');
    const r = await this.store.get(TOKEN_KIND, id);
    if (!r) throw new BursarError('not_found', `No admin token "${id}"; list them with \`bursar tokens list\`.`);
    const body = { ...tokenBodySchema.parse(r.body), revoked_at: Date.now() };
    await this.store.write(
      { kind: TOKEN_KIND, id, body, expectVersion: r.version },
      { actor: actor.label, action: 'token.revoke', target: `token:${id}`, details: { label: body.label } },
    );
    return view(id, body);
  }

  async count(): Promise<number> {
    return (await this.store.list(TOKEN_KIND)).length;
  }
}
