import { describe, expect, it } from 'vitest';
import { hashCredential, issueCredential, KEY_PREFIX, sameSecret } from './credential.js';

describe('credentials', () => {
  it('are bsk_ + 192 random bits, stored as a SHA-256 hash, shown by a short prefix', () => {
    const c = issueCredential(KEY_PREFIX);
    expect(c.secret).toMatch(/^bsk_[A-Za-z0-9_-]{32}$/);
    expect(Buffer.from(c.secret.slice(4), 'base64url')).toHaveLength(24);
    expect(c.hash).toBe(hashCredential(c.secret));
    expect(c.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(c.secret.startsWith(c.prefix)).toBe(true);
    expect(c.prefix.length).toBeLessThan(12);
  });

  it('never repeat', () => {
    const seen = new Set(Array.from({ length: 2000 }, () => issueCredential(KEY_PREFIX).secret));
    expect(seen.size).toBe(2000);
  });

  it('compare in constant time', () => {
    expect(sameSecret('a'.repeat(40), 'a'.repeat(40))).toBe(true);
    expect(sameSecret('a'.repeat(40), 'b'.repeat(40))).toBe(false);
    expect(sameSecret('short', 'a'.repeat(40))).toBe(false);
  });
});
