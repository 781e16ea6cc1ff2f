/**
 * Dashboard sessions. The page signs in with a per-person admin token (or through the company's
 * identity provider, which mints a short-lived one: ./oidc.ts); the token then rides in an
 * HttpOnly, SameSite=Strict cookie, so page scripts never hold it and other sites cannot send it.
 * The admin API accepts the cookie wherever it accepts "Authorization: Bearer", and asks changes
 * made with it to carry the dashboard's header, a second guard against cross-site requests.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { BursarError } from '../core/errors.js';
import type { Actor } from '../access/actor.js';
import type { TokenService } from '../access/token-service.js';
import { adminErrorHandler, validate } from '../admin/errors.js';

export const SESSION_COOKIE = 'bursar_session';
/** The header every change the dashboard makes carries (a page on another site cannot set it). */
export const CLIENT_HEADER = 'x-bursar-client';
/** A session lasts a working day; the token behind it can be revoked sooner. */
export const SESSION_SECONDS = 12 * 3600;

/** The admin credential a request presents: its Authorization header, else the session cookie. */
function presented(req: FastifyRequest): { token: string | undefined; viaCookie: boolean } {
  const auth = req.headers.authorization;
  if (typeof auth === 'string' && /^bearer /i.test(auth)) return { token: auth.slice(7).trim(), viaCookie: false };
  const cookie = req.cookies?.[SESSION_COOKIE];
  return { token: cookie || undefined, viaCookie: Boolean(cookie) };
}

/** Authenticates an admin request; a change signed in by cookie must come from the dashboard. */
export async function authenticate(req: FastifyRequest, tokens: TokenService): Promise<Actor> {
  const { token, viaCookie } = presented(req);
  const actor = await tokens.authenticate(token);
  if (viaCookie && req.method !== 'GET' && req.method !== 'HEAD' && req.headers[CLIENT_HEADER] === undefined) {
    throw new BursarError('forbidden', `A change signed in by the dashboard's cookie must carry the "${CLIENT_HEADER}" header; scripts should send "Authorization: Bearer bat_..." instead.`);
  }
  return actor;
}

/** Sets the session cookie to a token that has just been checked. */
export function startSession(req: FastifyRequest, reply: FastifyReply, token: string, seconds = SESSION_SECONDS): void {
  reply.setCookie(SESSION_COOKIE, token, { httpOnly: true, sameSite: 'strict', path: '/', secure: req.protocol === 'https', maxAge: seconds });
}

const signIn = z.strictObject({ token: z.string().min(1).max(256) });

/** POST /admin/v1/session (sign in with a token) and DELETE /admin/v1/session (sign out). */
export async function sessionRoutes(app: FastifyInstance, d: { tokens: TokenService; ssoLogin: string | null }): Promise<void> {
  app.setErrorHandler(adminErrorHandler);
  app.get('/session/methods', async () => ({ token: true, sso: d.ssoLogin }));
  app.post('/session', async (req, reply) => {
    const { token } = validate(signIn, req.body);
    const actor = await d.tokens.authenticate(token);
    startSession(req, reply, token);
    return actor;
  });
  app.delete('/session', async (_req, reply) => reply.clearCookie(SESSION_COOKIE, { path: '/' }).code(204).send());
}
