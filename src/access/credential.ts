/**
 * Credentials Bursar issues (virtual keys `bsk_`, admin tokens `bat_`): 192 random bits,
 * shown once, stored only as a SHA-256 hash. A fast hash is right here: the secrets carry
 * far more entropy than any guessing attack can cover, so a slow KDF would only slow every call.
 */
import { hash, randomBytes, timingSafeEqual } from 'node:crypto';

export const KEY_PREFIX = 'bsk_';
export const TOKEN_PREFIX = 'bat_';
const RANDOM_BYTES = 24;

export interface IssuedCredential {
  /** The full secret: returned to the caller once, never stored. */
  readonly secret: string;
  readonly hash: string;
  /** The first characters, safe to show in lists ("bsk_3fQx9a"). */
  readonly prefix: string;
}

export function issueCredential(prefix: string): IssuedCredential {
  const secret = prefix + randomBytes(RANDOM_BYTES).toString('base64url');
  return { secret, hash: hashCredential(secret), prefix: secret.slice(0, prefix.length + 6) };
}

/** Runs on every call: the one-shot crypto.hash, without createHash's Hash object (a few µs less under load). */
export function hashCredential(secret: string): string {
  return hash('sha256', secret, 'hex');
}

/** Constant-time comparison of a presented secret with a known one (the bootstrap admin token). */
export function sameSecret(presented: string, known: string): boolean {
  const a = hash('sha256', presented, 'buffer');
  const b = hash('sha256', known, 'buffer');
  return timingSafeEqual(a, b);
}
