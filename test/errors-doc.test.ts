/**
 * docs/errors.md and the error table in the code say the same thing: the same codes, with the
 * same HTTP status and retry advice.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BursarError, ERROR_CODES, type ErrorCode } from '../src/core/errors.js';

const doc = readFileSync(join(import.meta.dirname, '..', 'docs', 'errors.md'), 'utf8');
const section = doc.slice(doc.indexOf('## Codes'), doc.indexOf('## Ledger error codes'));
const rows = [...section.matchAll(/^\| `([a-z_]+)` \| (\d{3}) \| (yes|no) \|/gm)].map((m) => ({ code: m[1]!, status: Number(m[2]), retry: m[3] === 'yes' }));

describe('docs/errors.md', () => {
  it('lists every code exactly once, and nothing else', () => {
    expect(rows.map((r) => r.code).sort()).toEqual(Object.keys(ERROR_CODES).sort());
  });

  it.each(rows)('$code has the documented status and retry advice', (r) => {
    const e = new BursarError(r.code as ErrorCode, 'x');
    expect(e.status).toBe(r.status);
    expect(e.retryable).toBe(r.retry);
  });
});
