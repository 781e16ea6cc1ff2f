/**
 * The spool: an append-only journal of ledger records on local disk. Data handed to write()
 * survives the process being killed (the kernel holds it); `fsync: true` also makes each
 * flush survive power loss.
 *
 * Record kinds: an intent (the call's worst case, which must be on disk before the provider is
 * called); a context (what a client's calls share: their dimensions, tags, endpoint, price
 * version), written once in a segment and named by the intents after it while it holds, so an
 * intent carries only what is its own; a final line (written when the store cannot take it);
 * and an outcome (a final line's changes to its call's intent). Records are
 * group-committed: everything appended during one turn of the event loop goes out in one
 * write() at the end of that turn, and the calls waiting on their intents go on after it. Under
 * load many calls share a write; alone, a call waits one loop turn.
 *
 * A segment file is deleted once every record in it is committed to the LedgerStore; what is
 * left at start-up is replayed.
 */
import { closeSync, fdatasyncSync, mkdirSync, openSync, readdirSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { compile, compileSnapshot, fieldPath } from '../core/compile.js';
import { DIMENSIONS, emptyDims, type Tags } from '../core/dimensions.js';
import { blankLine, budgetChargesJson, parseBudgetCharges, type LedgerLine } from '../core/ledger.js';

export interface Segment {
  readonly name: string;
  readonly fd: number;
  bytes: number;
  /** Records in this segment not yet committed to the store. */
  pending: number;
  rotated: boolean;
}

export type SpoolRecord = { readonly kind: 'intent' | 'final'; readonly line: LedgerLine };

/** What a call's final line changes on its intent: a final record for a call with an intent carries only this. */
const OUTCOME_FIELDS = ['status', 'httpStatus', 'errorCode', 'tokens', 'toolCalls', 'costNano', 'usageExact', 'latencyMs', 'ttfbMs', 'priceVersion', 'currency', 'budgetCharges', 'orgCostNano', 'fxRate', 'baselineOrgNano'] as const;
type Outcome = Pick<LedgerLine, (typeof OUTCOME_FIELDS)[number]>;

/** Budget charges are written by budgetChargesJson (their nano are BigInts), after the record's other fields. */
const OUTCOME_PLAIN = OUTCOME_FIELDS.filter((f) => f !== 'budgetCharges');

/** A record's JSON with its budget charges' JSON (already written) as the last field, if given. */
function withCharges(o: Record<string, unknown>, charges: string | null): string {
  const json = JSON.stringify(o);
  return charges === null ? json : `${json.slice(0, -1)},"budgetCharges":${charges}}`;
}

/** The final record always states its charges (null: none), as they replace its intent's worst case. */
function encodeOutcome(l: LedgerLine): string {
  const o: Record<string, unknown> = { id: l.id };
  for (const f of OUTCOME_PLAIN) {
    const v = l[f];
    o[f] = typeof v === 'bigint' ? v.toString() : v;
  }
  return withCharges(o, l.budgetCharges ? budgetChargesJson(l.budgetCharges) : 'null');
}

const MAX_SEGMENT_BYTES = 64 * 1024 * 1024;

const BLANK = blankLine('', 0) as unknown as Record<string, unknown>;
const FIELDS = Object.keys(BLANK).filter((k) => !['id', 'ts', 'dims', 'costNano', 'budgetCharges'].includes(k));

/**
 * The fields a client's calls share (who made the call, with what, priced how): an intent
 * spools them as a context record, written once and named by the intents after it while they
 * stay the same. A call's own record then holds what is its own (id, time, worst case, tokens).
 */
const CONTEXT_FIELDS = ['source', 'tags', 'endpoint', 'stream', 'currency', 'priceVersion', 'spendCategory', 'orgCurrency', 'humanReview'] as const;
const OWN_FIELDS = FIELDS.filter((f) => !(CONTEXT_FIELDS as readonly string[]).includes(f));

/**
 * Lines as compact JSON: the dimensions that are set, and the fields that differ from a blank
 * line. Every call's intent is encoded before its provider is called, so the encoders are
 * compiled (core/compile.ts) into code that names each field and writes the text as it goes: a
 * loop over the names, building an object for JSON.stringify, took 4 µs a line, this 2.5, for
 * the same text. A context and a call's own part, merged, are the whole line's record.
 */
const dimsText = DIMENSIONS.map(fieldPath).map((k) => `if (d.${k} !== null && d.${k} !== undefined) { s += sep + '"${k}":' + q(d.${k}); sep = ','; }`);
const fieldsText = (fields: readonly string[]): string[] =>
  fields.map(fieldPath).map((k) => `v = l.${k}; if (v !== B.${k} && v !== undefined) s += ',"${k}":' + (typeof v === 'bigint' ? '"' + v + '"' : q(v));`);
const ownStart = `let s = '{"id":' + q(l.id) + ',"ts":' + l.ts + ',"costNano":"' + l.costNano + '"'; let v;`;
const chargesEnd = `return l.budgetCharges ? s + ',"budgetCharges":' + charges(l.budgetCharges) + '}' : s + '}';`;
const encoderScope = { q: JSON.stringify, B: BLANK, charges: budgetChargesJson };
type Encoder = (l: LedgerLine) => string;

/** The whole line (a final line spooled when the store fails; tests). */
export const encodeLine: Encoder = compile(['l'], [ownStart, `s += ',"dims":{'; const d = l.dims; let sep = '';`, ...dimsText, `s += '}';`, ...fieldsText(FIELDS), chargesEnd].join('\n'), encoderScope);
/** The context part of a line: its dimensions and shared fields. */
const encodeContext: Encoder = compile(['l'], [`let s = '{"dims":{'; const d = l.dims; let sep = ''; let v;`, ...dimsText, `s += '}';`, ...fieldsText(CONTEXT_FIELDS), `return s + '}';`].join('\n'), encoderScope);
/** A call's own part of its line. */
const encodeOwn: Encoder = compile(['l'], [ownStart, ...fieldsText(OWN_FIELDS), chargesEnd].join('\n'), encoderScope);

/**
 * A line's context values as they are now (a call's dimensions change as it goes on, when it
 * falls back to another model, so the context written is remembered as values, not as the line),
 * and whether a line's are the same. Tags are compared by what they hold: a key's own tags make a
 * new object for every call.
 */
const contextPaths = [...DIMENSIONS.map((d) => `dims.${d}`), ...CONTEXT_FIELDS.filter((f) => f !== 'tags')].map(fieldPath);
const contextValues = compileSnapshot<LedgerLine>(contextPaths.map((p) => `l.${p}`));

function sameTags(a: Tags | null, b: Tags | null): boolean {
  if (a === b) return true;
  if (a === null || b === null) return false;
  let n = 0;
  for (const k in a) {
    if (a[k] !== b[k]) return false;
    n++;
  }
  for (const _ in b) n--;
  return n === 0;
}

const BIGINT_FIELDS = ['orgCostNano', 'fxRate', 'baselineOrgNano', 'avoidedOrgNano', 'quantityNano'] as const;

/** The line a compact record stands for. */
export function decodeLine(o: Record<string, unknown> & { id: string; ts: number; costNano: string; dims: Record<string, string> }): LedgerLine {
  const line: Record<string, unknown> = { ...blankLine(o.id, o.ts), ...o, dims: Object.assign(emptyDims(), o.dims), costNano: BigInt(o.costNano) };
  for (const f of BIGINT_FIELDS) if (typeof o[f] === 'string') line[f] = BigInt(o[f]);
  if (Array.isArray(o.budgetCharges)) line.budgetCharges = parseBudgetCharges(o.budgetCharges);
  return line as unknown as LedgerLine;
}

export class Spool {
  private current: Segment;
  private seq = 0;
  private readonly segments = new Map<string, Segment>();
  private buffer: string[] = [];
  /** The context the current segment's last intent named: its number, tags and other values. */
  private context: { readonly id: number; readonly tags: Tags | null; readonly values: readonly unknown[] } | null = null;
  private contexts = 0;
  /** What the records queued this turn wait on: one promise for all of them, settled by writeOut. */
  private turn: { readonly written: Promise<void>; readonly done: () => void } | null = null;
  private scheduled = false;

  constructor(
    private readonly dir: string,
    private readonly fsync: boolean,
  ) {
    mkdirSync(dir, { recursive: true });
    this.current = this.open();
  }

  /**
   * Queues one record for this loop turn's write and returns the segment that will hold it:
   * an intent ('i'), a whole final line ('f'), or the outcome of a call whose intent is spooled
   * ('o'). With `durable`, resolves once the record is written.
   */
  append(kind: 'i' | 'f' | 'o', line: LedgerLine): Segment;
  append(kind: 'i' | 'f' | 'o', line: LedgerLine, durable: true): { segment: Segment; written: Promise<void> };
  append(kind: 'i' | 'f' | 'o', line: LedgerLine, durable?: true): Segment | { segment: Segment; written: Promise<void> } {
    if (kind === 'i') {
      let c = this.context;
      if (c === null || !contextValues.same(c.values, line) || !sameTags(c.tags, line.tags)) {
        this.context = c = { id: ++this.contexts, tags: line.tags, values: contextValues.read(line) };
        this.buffer.push(`{"k":"c","c":${c.id},"l":${encodeContext(line)}}\n`);
      }
      this.buffer.push(`{"k":"i","c":${c.id},"l":${encodeOwn(line)}}\n`);
    } else this.buffer.push(kind === 'o' ? `{"k":"o","o":${encodeOutcome(line)}}\n` : `{"k":"f","l":${encodeLine(line)}}\n`);
    const segment = this.current;
    segment.pending++;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.writeOut());
    }
    if (!durable) return segment;
    if (!this.turn) {
      let done!: () => void;
      const written = new Promise<void>((resolve) => (done = resolve));
      this.turn = { written, done };
    }
    return { segment, written: this.turn.written };
  }

  /** Writes everything queued now, in one write(), then releases the calls waiting for it. */
  writeOut(): void {
    this.scheduled = false;
    if (this.buffer.length === 0) return;
    const text = this.buffer.length === 1 ? this.buffer[0]! : this.buffer.join('');
    this.buffer = [];
    const turn = this.turn;
    this.turn = null;
    const seg = this.current;
    seg.bytes += writeSync(seg.fd, text);
    if (this.fsync) fdatasyncSync(seg.fd);
    if (seg.bytes > MAX_SEGMENT_BYTES) this.rotate();
    turn?.done();
  }

  /** Called when records of `seg` are committed; deletes a finished, rotated segment. */
  committed(seg: Segment, n = 1): void {
    seg.pending -= n;
    if (seg.pending <= 0 && seg.rotated) this.drop(seg);
  }

  /** Writes what is queued and closes every segment; those whose records are all committed are deleted. */
  close(): void {
    this.writeOut();
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
    // A segment holds the contexts its intents name: the next intent writes its context anew.
    this.context = null;
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

/**
 * Reads the segments a previous process left, in order, into intents and final lines (an
 * outcome record is applied to its call's intent).
 */
export function readLeftovers(dir: string): { files: string[]; records: SpoolRecord[] } {
  mkdirSync(dir, { recursive: true });
  const files = readdirSync(dir).filter((f) => f.startsWith('seg-') && f.endsWith('.jsonl')).sort(bySegmentOrder);
  const records: SpoolRecord[] = [];
  const intents = new Map<string, LedgerLine>();
  for (const f of files) {
    const text = readFileSync(join(dir, f), 'utf8');
    const contexts = new Map<number, Record<string, unknown>>();
    for (const row of text.split('\n')) {
      if (!row) continue;
      let r: { k: string; c?: number; l?: Parameters<typeof decodeLine>[0]; o?: Outcome & { id: string; costNano: string } };
      try {
        r = JSON.parse(row) as typeof r;
      } catch {
        continue; // A torn last record from a crash mid-write: its call also left an intent, or was never sent.
      }
      if (r.o) {
        const intent = intents.get(r.o.id);
        if (intent) records.push({ kind: 'final', line: decodeLine({ ...JSON.parse(encodeLine(intent)), ...r.o }) });
      } else if (r.k === 'c' && r.l && r.c !== undefined) {
        contexts.set(r.c, r.l);
      } else if (r.l) {
        const line = decodeLine(r.c === undefined ? r.l : { ...contexts.get(r.c), ...r.l });
        if (r.k === 'i') intents.set(line.id, line);
        records.push({ kind: r.k === 'i' ? 'intent' : 'final', line });
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
