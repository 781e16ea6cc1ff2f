/**
 * Step 1: the key. Takes `Authorization: Bearer bsk_...` (OpenAI SDKs) or `x-api-key: bsk_...`
 * (Anthropic SDKs), finds the key by hash in memory, and refuses revoked, suspended, expired
 * or rotated-out keys. No storage is touched.
 */
import { BursarError } from '../core/errors.js';
import type { AccessIndex, KeyEntry } from '../access/access-index.js';
import { hashCredential, KEY_PREFIX } from '../access/credential.js';

type Headers = Readonly<Record<string, string | string[] | undefined>>;

export function presentedKey(headers: Headers): string | undefined {
  const auth = headers.authorization;
  if (typeof auth === 'string' && auth.length > 7 && (auth.startsWith('Bearer ') || auth.slice(0, 7).toLowerCase() === 'bearer ')) return auth.slice(7).trim();
  const x = headers['x-api-key'];
  return typeof x === 'string' && x ? x.trim() : undefined;
}

/**
 * The key a call presents, checked; a promise only when the key is not known here yet and the
 * index must catch up first (a key made a moment ago on another replica). Every other call is
 * answered at once, without a promise and the turn of the microtask queue awaiting one costs.
 */
export function authenticate(headers: Headers, index: AccessIndex, now: number): KeyEntry | Promise<KeyEntry> {
  const secret = presentedKey(headers);
  if (!secret) {
    throw new BursarError('missing_api_key', 'No Bursar key was sent. Set your SDK\'s api key to a Bursar key (bsk_...), sent as "Authorization: Bearer" or "x-api-key".');
  }
  if (!secret.startsWith(KEY_PREFIX)) {
    throw new BursarError('invalid_api_key', 'This is not a Bursar key (they start with "bsk_"). Provider keys stay with Bursar; ask your platform team for a Bursar key.');
  }
  const hash = hashCredential(secret);
  const entry = index.key(hash);
  if (entry) return usable(entry, hash, now);
  // Made a moment ago on another replica? Look once more when every change so far is in.
  return index.catchUp().then(() => {
    const caughtUp = index.key(hash);
    if (!caughtUp) throw new BursarError('invalid_api_key', 'This Bursar key is unknown. Check that it was copied whole, or ask for a new one.');
    return usable(caughtUp, hash, now);
  });
}

/** The key, unless it is revoked, suspended, expired or a secret it was rotated away from. */
function usable(entry: KeyEntry, hash: string, now: number): KeyEntry {
  const k = entry.body;
  if (k.status === 'revoked') throw new BursarError('key_revoked', `Key "${k.label}" was revoked; ask its owner for a new key.`);
  if (k.status === 'suspended') throw new BursarError('key_suspended', `Key "${k.label}" is suspended; calls resume when an admin resumes it.`);
  if (k.expires_at !== null && k.expires_at <= now) {
    throw new BursarError('key_expired', `Key "${k.label}" expired at ${new Date(k.expires_at).toISOString()}; ask its owner for a new key.`);
  }
  if (k.hash !== hash && (k.previous === null || k.previous.until <= now)) {
    throw new BursarError('invalid_api_key', `Key "${k.label}" was rotated and this secret no longer works; use the new secret.`);
  }
  return entry;
}
