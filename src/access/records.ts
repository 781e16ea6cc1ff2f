/**
 * The stored shape of keys, admin tokens and suspensions (ConfigStore records). Bodies are
 * parsed with these schemas whenever they are read back, so a bad row cannot reach the gateway.
 */
import { z } from 'zod';
import { METADATA_FIELDS } from '../config/schema.js';

export const KEY_KIND = 'key';
export const TOKEN_KIND = 'admin_token';
export const SUSPENSION_KIND = 'suspension';

const slug = z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,62}$/, 'must be a lower-case slug');
const name = z.string().min(1).max(128);

export const attributionSchema = z.strictObject({
  department: slug.nullable().default(null),
  team: slug.nullable().default(null),
  project: slug.nullable().default(null),
  application: name.nullable().default(null),
  environment: slug.nullable().default(null),
  /** The owner user, or the user a personal key belongs to. */
  user: slug.nullable().default(null),
});

/** Whom a platform key may attribute its calls to, via x-bursar-act-for-* headers. */
export const actForSchema = z.strictObject({
  departments: z.array(z.union([slug, z.literal('*')])).default([]),
  users: z.array(z.union([slug, z.literal('*')])).default([]),
});

export const keyBodySchema = z.strictObject({
  label: name,
  prefix: z.string(),
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  /** After a rotation with a grace period, the old secret keeps working until `until`. */
  previous: z.strictObject({ hash: z.string(), until: z.number() }).nullable().default(null),
  status: z.enum(['active', 'suspended', 'revoked']),
  created_at: z.number(),
  created_by: z.string(),
  expires_at: z.number().nullable(),
  revoked_at: z.number().nullable().default(null),
  attribution: attributionSchema,
  /** Globs of model names the key may call; null: any model a provider serves. */
  allowed_models: z.array(z.string().min(1)).nullable().default(null),
  /** Calls on the key carry at least this data class; null: none. */
  data_class: z.string().nullable().default(null),
  /** The route a call goes by when its model names none (docs/routing.md); null: none. */
  default_route: z.string().nullable().default(null),
  /** Headers each call must carry; null: the gateway default from bursar.yaml. */
  required_metadata: z.array(z.enum(METADATA_FIELDS)).nullable().default(null),
  act_for: actForSchema.nullable().default(null),
  tags: z.record(z.string(), z.string()).default({}),
});
export type KeyBody = z.infer<typeof keyBodySchema>;
export type Attribution = z.infer<typeof attributionSchema>;

export const ROLES = ['admin', 'finance', 'manager', 'member'] as const;
export type Role = (typeof ROLES)[number];

export const tokenBodySchema = z.strictObject({
  label: name,
  prefix: z.string(),
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  role: z.enum(ROLES),
  /** manager: the department whose subtree it sees; member: the user's department. */
  department: slug.nullable().default(null),
  /** member: the user whose own usage it sees. */
  user: slug.nullable().default(null),
  created_at: z.number(),
  created_by: z.string(),
  revoked_at: z.number().nullable().default(null),
  /** A sign-in session minted through the identity provider ends; a token made by an admin does not. */
  expires_at: z.number().nullable().default(null),
});
export type TokenBody = z.infer<typeof tokenBodySchema>;

export const SUSPENDABLE = ['workflow', 'agent'] as const;
export type Suspendable = (typeof SUSPENDABLE)[number];

export const suspensionBodySchema = z.strictObject({
  kind: z.enum(SUSPENDABLE),
  name: name,
  reason: z.string().max(500).default(''),
  since: z.number(),
  by: z.string(),
});
export type SuspensionBody = z.infer<typeof suspensionBodySchema>;

export const suspensionId = (kind: Suspendable, value: string): string => `${kind}:${value}`;
