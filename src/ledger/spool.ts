/**
 * The spool: an append-only journal of ledger records on local disk, written with one
 * synchronous write() per record. Data handed to write() survives the process being killed
 * (the kernel holds it); `fsync: true` also makes each flush survive power loss.
 *
 * Two record kinds: an intent (the call's worst case, written before the provider is called)
 * and a final line (written when the call ends). A segment file is deleted once every record
 * in it is committed to the LedgerStore; what is left at start-up is replayed.
 */
import { closeSync, fdatasyncSync, mkdirSync, openSync, readdirSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { LedgerLine } from '../core/ledger.js';

export interface Segment {
  readonly name: string;
  readonly fd: number;
  bytes: number;
  /** Records in this segment not yet committed to the store. */
  pending: number;
  rotated: boolean;
}

export type SpoolRecord = { readonly kind: 'intent' | 'final'; readonly line: LedgerLine };

const MAX_SEGMENT_BYTES = 64 * 1024 * 1024;

/** A line as JSON: bigint amounts as strings. */
export function encodeLine(l: LedgerLine): string {
  return JSON.stringify({ ...l, costNano: l.costNano.toString() });
}

export class Spool {
  private current: Segment;
  private seq = 0;
  private readonly segments = new Map<string, Segment>();

  constructor(
    private readonly dir: string,
    private readonly fsync: boolean,
  ) {
    mkdirSync(dir, { recursive: true });
    this.current = this.open();
  }

  /** Appends one record and returns the segment that holds it. */
  write(kind: 'i' | 'f', line: LedgerLine): Segment {
    const text = `{"k":"${kind}","l":${encodeLine(line)}}\n`;
    const seg = this.current;
    seg.bytes += writeSync(seg.fd, text);
    seg.pending++;
    if (seg.bytes > MAX_SEGMENT_BYTES) this.rotate();
    return seg;
  }

  /** Called when records of `seg` are committed; deletes a finished, rotated segment. */
  committed(seg: Segment, n = 1): void {
    seg.pending -= n;
    if (seg.pending <= 0 && seg.rotated) this.drop(seg);
  }

  /** fsync the current segment (group commit at each flush when configured). */
  sync(): void {
    if (this.fsync) fdatasyncSync(this.current.fd);
  }

  /** Closes every segment; those whose records are all committed are deleted. */
  close(): void {
    for (const seg of [...this.segments.values()]) {
      seg.rotated = true;
      if (seg.pending <= 0) this.drop(seg);
      else closeSync(seg.fd);
    }
    this.segments.clear();
  }

  private rotate(): void {
    const old = this.current;
    old.rotated = true;
    this.current = this.open();
    if (old.pending <= 0) this.drop(old);
  }

  private open(): Segment {
    const name = `seg-${Date.now()}-${process.pid}-${this.seq++}.jsonl`;
    const seg: Segment = { name, fd: openSync(join(this.dir, name), 'a'), bytes: 0, pending: 0, rotated: false };
    this.segments.set(name, seg);
    return seg;
  }

  private drop(seg: Segment): void {
    if (!this.segments.has(seg.name)) return;
    this.segments.delete(seg.name);
    closeSync(seg.fd);
    unlinkSync(join(this.dir, seg.name));
  }
}

/** Reads segments left by a previous process (not this one's open segments). */
export function readLeftovers(dir: string, own: ReadonlySet<string> = new Set()): { files: string[]; records: SpoolRecord[] } {
  mkdirSync(dir, { recursive: true });
  const files = readdirSync(dir).filter((f) => f.startsWith('seg-') && f.endsWith('.jsonl') && !own.has(f)).sort(bySegmentOrder);
  const records: SpoolRecord[] = [];
  for (const f of files) {
    const text = readFileSync(join(dir, f), 'utf8');
    for (const row of text.split('\n')) {
      if (!row) continue;
      try {
        const r = JSON.parse(row) as { k: string; l: LedgerLine & { costNano: string } };
        records.push({ kind: r.k === 'i' ? 'intent' : 'final', line: { ...r.l, costNano: BigInt(r.l.costNano) } });
      } catch {
        // A torn last record from a crash mid-write: its call also left an intent or is not billable.
      }
    }
  }
  return { files: files.map((f) => join(dir, f)), records };
}

function bySegmentOrder(a: string, b: string): number {
  const ka = a.split('-').slice(1, 4).map(Number);
  const kb = b.split('-').slice(1, 4).map(Number);
  for (let i = 0; i < 3; i++) if (ka[i] !== kb[i]) return (ka[i] ?? 0) - (kb[i] ?? 0);
  return 0;
}

export function removeFiles(files: readonly string[]): void {
  for (const f of files) unlinkSync(f);
}
