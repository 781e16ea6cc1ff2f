/**
 * Single sign-on for the dashboard: OpenID Connect's authorization-code flow with PKCE (through
 * openid-client). The person's claims name their Bursar user, role and department; a sign-in
 * mints a per-person admin token that ends with the session (audited like any token), and the
 * page's session cookie carries it, so the API, the CLI's checks and revocation work as for any
 * token. The provider is found on first use, so Bursar starts while it is down.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import * as client from 'openid-client';
import { BursarError } from '../core/errors.js';
import type { OrgTree } from '../core/org.js';
import type { ResolvedOidc } from '../config/load.js';
import type { Role } from '../access/records.js';
import type { TokenService } from '../access/token-service.js';
import type { Logger } from '../telemetry/log.js';
import { startSession } from './session.js';

const FLOW_COOKIE = 'bursar_oidc';
const ROLE_RANK: Record<Role, number> = { member: 0, manager: 1, finance: 2, admin: 3 };
export const SSO_LOGIN_PATH = '/auth/oidc/login';
const CALLBACK_PATH = '/auth/oidc/callback';

export interface Person {
  readonly role: Role;
  readonly department: string | null;
  readonly user: string | null;
  readonly label: string;
}

/** What a person's claims make them in Bursar, or why they cannot sign in. */
export function personOf(claims: Record<string, unknown>, o: Pick<ResolvedOidc, 'claims' | 'roles' | 'default_role'>, org: OrgTree): Person {
  const values = ([] as unknown[]).concat(claims[o.claims.role] ?? []).map(String);
  const roles = values.map((v) => o.roles[v] ?? (v in ROLE_RANK ? (v as Role) : null)).filter((r): r is Role => r !== null);
  const role = roles.sort((a, b) => ROLE_RANK[b] - ROLE_RANK[a])[0] ?? o.default_role;
  const sub = String(claims.sub ?? '');
  if (!role) throw new BursarError('forbidden', `Your account (${sub}) has no Bursar role: its "${o.claims.role}" claim names none. Ask an admin to give you one.`);
  const userClaim = claims[o.claims.user];
  const user = typeof userClaim === 'string' && org.users.has(userClaim) ? userClaim : null;
  const deptClaim = claims[o.claims.department];
  const department = typeof deptClaim === 'string' && org.departments.has(deptClaim) ? deptClaim : (user ? org.users.get(user)!.department : null);
  if (role === 'member' && !user) throw new BursarError('forbidden', `Your account's "${o.claims.user}" claim (${String(userClaim ?? 'missing')}) is not a user in bursar.yaml, so Bursar cannot show you your own usage.`);
  if (role === 'manager' && !department) throw new BursarError('forbidden', `Your account's "${o.claims.department}" claim (${String(deptClaim ?? 'missing')}) is not a department in bursar.yaml.`);
  return { role, department, user, label: `sso:${typeof userClaim === 'string' ? userClaim : sub}`.slice(0, 128) };
}

export async function oidcRoutes(app: FastifyInstance, d: { oidc: ResolvedOidc; tokens: TokenService; org: OrgTree; log: Logger }): Promise<void> {
  const o = d.oidc;
  const issuer = new URL(o.issuer);
  // Plain HTTP only for a provider on this machine (a test or a local one); anywhere else it must be HTTPS.
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(issuer.hostname);
  let found: Promise<client.Configuration> | null = null;
  const configuration = (): Promise<client.Configuration> => {
    found ??= client.discovery(issuer, o.client_id, o.client_secret.reveal(), undefined, loopback ? { execute: [client.allowInsecureRequests] } : undefined)
      .catch((err: unknown) => {
        found = null;
        d.log.warn({ err, issuer: o.issuer }, 'identity provider discovery failed');
        throw new BursarError('upstream_unreachable', `The identity provider at ${o.issuer} could not be reached; sign in with an admin token meanwhile.`);
      });
    return found;
  };
  const redirectUri = (req: FastifyRequest): string => o.redirect_url ?? `${req.protocol}://${req.host}${CALLBACK_PATH}`;
  const fail = (reply: FastifyReply, err: unknown) => {
    const message = err instanceof BursarError ? err.message : 'The identity provider did not confirm the sign-in; try again.';
    if (!(err instanceof BursarError)) d.log.warn({ err }, 'single sign-on failed');
    return reply.redirect(`/#/signin?error=${encodeURIComponent(message)}`);
  };

  app.get(SSO_LOGIN_PATH, async (req, reply) => {
    try {
      const config = await configuration();
      const verifier = client.randomPKCECodeVerifier();
      const flow = { verifier, state: client.randomState(), nonce: client.randomNonce() };
      const url = client.buildAuthorizationUrl(config, {
        redirect_uri: redirectUri(req), scope: o.scopes.join(' '), state: flow.state, nonce: flow.nonce,
        code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
      });
      // Lax: the provider's redirect back is a top-level navigation from its own site.
      reply.setCookie(FLOW_COOKIE, JSON.stringify(flow), { httpOnly: true, sameSite: 'lax', path: CALLBACK_PATH, secure: req.protocol === 'https', maxAge: 600 });
      return reply.redirect(url.href);
    } catch (err) {
      return fail(reply, err);
    }
  });

  app.get(CALLBACK_PATH, async (req, reply) => {
    try {
      const flow = JSON.parse(req.cookies[FLOW_COOKIE] ?? 'null') as { verifier: string; state: string; nonce: string } | null;
      if (!flow) throw new BursarError('unauthorized', 'The sign-in took too long or started elsewhere; start it again.');
      const config = await configuration();
      const current = new URL(req.url, redirectUri(req));
      const grant = await client.authorizationCodeGrant(config, current, { pkceCodeVerifier: flow.verifier, expectedState: flow.state, expectedNonce: flow.nonce, idTokenExpected: true });
      let claims: Record<string, unknown> = { ...grant.claims() };
      if (claims[o.claims.role] === undefined || claims[o.claims.user] === undefined) {
        claims = { ...claims, ...(await client.fetchUserInfo(config, grant.access_token, String(claims.sub))) };
      }
      const person = personOf(claims, o, d.org);
      const seconds = Math.round(o.session_hours * 3600);
      const { secret } = await d.tokens.issue(
        { label: person.label, role: person.role, ...(person.department ? { department: person.department } : {}), ...(person.user ? { user: person.user } : {}) },
        person.label, Date.now() + seconds * 1000,
      );
      reply.clearCookie(FLOW_COOKIE, { path: CALLBACK_PATH });
      startSession(req, reply, secret, seconds);
      return reply.redirect('/');
    } catch (err) {
      return fail(reply, err);
    }
  });
}
