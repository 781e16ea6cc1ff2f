/**
 * The audit log is tamper-evident: each entry's hash covers its content and the previous
 * entry's hash, so editing, removing or reordering any entry breaks every hash after it.
 */
import { createHash } from 'node:crypto';
import type { AuditEntry, AuditInput } from './ports.js';

export const GENESIS_HASH = '0'.repeat(64);

/** JSON with object keys sorted at every level, so the same content always hashes the same. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) out[k] = sortKeys((value as Record<string, unknown>)[k]);
    return out;
  }
  return typeof value === 'bigint' ? value.toString() : value;
}

export function auditHash(seq: number, ts: number, prevHash: string, input: AuditInput): string {
  const body = canonicalJson({ seq, ts, actor: input.actor, action: input.action, target: input.target, details: input.details });
  return createHash('sha256').update(prevHash).update('\n').update(body).digest('hex');
}

export function chainEntry(seq: number, ts: number, prevHash: string, input: AuditInput): AuditEntry {
  return { seq, ts, prevHash, hash: auditHash(seq, ts, prevHash, input), ...input };
}

export type ChainCheck = { ok: true; entries: number; head: string } | { ok: false; entries: number; brokenAt: number; reason: string };

/** Checks a chain entry by entry, in seq order from the first, so any length fits in memory. */
export class ChainVerifier {
  private prev = GENESIS_HASH;
  private expectSeq = 1;
  private n = 0;
  private broken: ChainCheck | null = null;

  /** Returns false once the chain is broken. */
  push(e: AuditEntry): boolean {
    if (this.broken) return false;
    this.n++;
    const fail = (reason: string): boolean => {
      this.broken = { ok: false, entries: this.n, brokenAt: e.seq, reason };
      return false;
    };
    if (e.seq !== this.expectSeq) return fail(`expected entry ${this.expectSeq}, found ${e.seq} (an entry is missing)`);
    if (e.prevHash !== this.prev) return fail('its previous-hash does not match the entry before it');
    if (auditHash(e.seq, e.ts, e.prevHash, e) !== e.hash) return fail('its content does not match its hash (it was edited)');
    this.prev = e.hash;
    this.expectSeq++;
    return true;
  }

  result(): ChainCheck {
    return this.broken ?? { ok: true, entries: this.n, head: this.prev };
  }
}

/** Verifies a whole chain held in memory. */
export function verifyChain(entries: Iterable<AuditEntry>): ChainCheck {
  const v = new ChainVerifier();
  for (const e of entries) if (!v.push(e)) break;
  return v.result();
}
