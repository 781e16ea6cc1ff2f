/**
 * How the admin API reads input and answers errors: every field at fault named, every error in
 * the one error shape with its code (docs/errors.md).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { BursarError, asBursarError, errorBody } from '../core/errors.js';
import { describeIssue } from '../config/load.js';

/** Validates a body or query with a zod schema; the error names each field at fault. */
export function validate<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const r = schema.safeParse(value ?? {});
  if (!r.success) throw new BursarError('validation_failed', r.error.issues.map(describeIssue).join('; '), { param: r.error.issues[0]?.path.join('.') ?? '' });
  return r.data;
}

/** The admin API's error handler: Bursar errors as they are, Fastify's 4xx as validation errors. */
export function adminErrorHandler(err: Error & { statusCode?: number }, req: FastifyRequest, reply: FastifyReply): void {
  const e = err instanceof BursarError ? err
    : err.statusCode && err.statusCode < 500 ? new BursarError('validation_failed', err.message)
    : asBursarError(err);
  if (e.code === 'internal_error') req.log.error({ err }, 'admin error');
  reply.code(e.status).send(errorBody(e, 'openai'));
}
