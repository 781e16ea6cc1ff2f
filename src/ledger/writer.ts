/**
 * Writes ledger lines in batches.
 *
 * - A call's intent (its worst case) goes to the spool and is on disk before the provider is
 *   called. If Bursar dies before the call's final line is in the store, the intent is replayed
 *   at the next start as an `unsettled` line charged at that worst case.
 * - Final lines go to the LedgerStore in one transaction per batch (at most flush_ms later).
 *   They are spooled only when a batch write fails: then they wait on disk and are retried,
 *   so a slow or absent store never loses a line.
 */
import type { LedgerLine } from '../core/ledger.js';
import type { AppendResult, LedgerStore } from '../core/ports.js';
import { readLeftovers, removeFiles, Spool, type Segment } from './spool.js';

export interface WriterOptions {
  readonly batchSize: number;
  readonly flushMs: number;
  readonly fsync: boolean;
  readonly onError?: (err: unknown, pending: number) => void;
  /**
   * Hears of every committed batch (the budget counters count lines only once they are in the
   * ledger), and resolves once they are counted; until then the batch's calls stay in the spool,
   * so a crash before they are counted is seen at the next start. Must not throw.
   */
  readonly onCommitted?: (lines: readonly LedgerLine[], result: AppendResult) => Promise<void> | void;
}

interface Queued {
  readonly line: LedgerLine;
  /** Spool segments holding records of this line (its intent; its final once spooled). */
  readonly segments: Segment[];
  spooled: boolean;
}

export class LedgerWriter {
  private readonly spool: Spool;
  private queue: Queued[] = [];
  private readonly intents = new Map<string, Segment>();
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  private retryMs = 0;
  private closed = false;
  /** Lines committed to the store by this writer. */
  committed = 0;
  /** Counting of the batches written, in order (see onCommitted). */
  private counting: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: LedgerStore,
    spoolDir: string,
    private readonly opts: WriterOptions,
  ) {
    this.spool = new Spool(spoolDir, opts.fsync);
  }

  /**
   * Records a call's worst case; resolves once it is on disk, which must happen before the
   * provider is called. Its final line replaces it. A call that falls back to another model
   * records the fallback's worst case in turn: that intent replaces the attempt's before it (a
   * replay takes a call's last intent), which the spool may forget once the new one is on disk.
   */
  intent(line: LedgerLine): Promise<void> {
    const { segment, written } = this.spool.append('i', line, true);
    const earlier = this.intents.get(line.id);
    this.intents.set(line.id, segment);
    return earlier ? written.then(() => this.spool.committed(earlier)) : written;
  }

  /** Records a final line: in the store within flushMs (a line without an intent is a refusal, never billed). */
  record(line: LedgerLine): void {
    if (this.closed) throw new Error('ledger writer is closed');
    const intent = this.intents.get(line.id);
    if (intent) this.intents.delete(line.id);
    this.queue.push({ line, segments: intent ? [intent] : [], spooled: false });
    if (this.queue.length >= this.opts.batchSize) void this.flush();
    else this.schedule(this.opts.flushMs);
  }

  /** Lines waiting for the store. */
  get pending(): number {
    return this.queue.length;
  }

  /** Writes everything queued; resolves when it is in the store (or the attempt failed and is rescheduled). */
  flush(): Promise<void> {
    if (this.flushing) return this.flushing.then(() => (this.queue.length ? this.flush() : undefined));
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.queue.length === 0) return Promise.resolve();
    const batch = this.queue.slice(0, this.opts.batchSize);
    this.flushing = (async () => {
      try {
        const lines = batch.map((q) => q.line);
        const result = await this.store.append(lines);
        this.queue.splice(0, batch.length);
        this.committed += batch.length;
        this.retryMs = 0;
        // Counting may wait (shared counters unreachable) while later batches are written. Only
        // once a batch is counted may the spool forget its calls: a crash before leaves them in
        // the spool, and the restart then rebuilds the counters from the ledger.
        const counted = this.opts.onCommitted?.(lines, result);
        const segments = batch.flatMap((q) => q.segments);
        const release = (): void => {
          for (const s of segments) this.spool.committed(s);
        };
        // Counting failed: the calls stay in the spool, and the next start rebuilds the counters.
        this.counting = this.counting.then(() => counted).then(release, () => {});
      } catch (err) {
        // The store is failing: keep the lines on disk until it comes back.
        this.spoolQueued();
        this.retryMs = Math.min(Math.max(this.retryMs * 2, 100), 5000);
        this.opts.onError?.(err, this.queue.length);
      } finally {
        this.flushing = null;
      }
      if (this.queue.length) this.schedule(this.retryMs || 0);
    })();
    return this.flushing;
  }

  /** Spools every queued final line not yet on disk. */
  private spoolQueued(): void {
    for (const q of this.queue) {
      if (q.spooled) continue;
      q.segments.push(this.spool.append(q.segments.length ? 'o' : 'f', q.line));
      q.spooled = true;
    }
  }

  /** Resolves once every batch written so far is counted on the budgets. */
  counted(): Promise<void> {
    return this.counting;
  }

  /**
   * Flushes until the queue is empty and what was written is counted (or `deadline` passes: what
   * is left stays spooled for the next start), then closes the spool.
   */
  async close(deadlineMs = 10_000): Promise<void> {
    const until = Date.now() + deadlineMs;
    while (this.queue.length && Date.now() < until) {
      await this.flush();
      if (this.queue.length) await new Promise((r) => setTimeout(r, Math.min(this.retryMs, 500)));
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.counting, new Promise<void>((r) => (timer = setTimeout(r, Math.max(0, until - Date.now()))))]);
    clearTimeout(timer);
    this.spoolQueued();
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.spool.close();
  }

  private schedule(ms: number): void {
    if (this.timer || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.flush();
    }, ms);
    this.timer.unref();
  }
}

export interface Recovery {
  /** Final lines replayed from the spool (already in the store ones are skipped by id). */
  readonly finals: number;
  /** Calls that had started but never finished: charged at their worst case, status unsettled. */
  readonly unsettled: number;
  readonly added: number;
}

/** A recovery's report, and what each of its batches committed (for the budget counters). */
export interface RecoveryResult extends Recovery {
  readonly batches: readonly AppendResult[];
  /** The ids of every line the spool held (added now, or in the ledger already). */
  readonly ids: readonly string[];
}

/**
 * Replays what a previous process left in the spool: every final line, and for each intent
 * without one, its worst-case line. Appends are idempotent by id, so nothing counts twice.
 */
export async function recoverSpool(store: LedgerStore, spoolDir: string): Promise<RecoveryResult> {
  const { files, records } = readLeftovers(spoolDir);
  const finals = new Map<string, LedgerLine>();
  const intents = new Map<string, LedgerLine>();
  for (const r of records) (r.kind === 'final' ? finals : intents).set(r.line.id, r.line);
  let unsettled = 0;
  for (const [id, line] of intents) {
    if (finals.has(id)) continue;
    finals.set(id, line);
    unsettled++;
  }
  const lines = [...finals.values()];
  const batches: AppendResult[] = [];
  for (let i = 0; i < lines.length; i += 5000) batches.push(await store.append(lines.slice(i, i + 5000)));
  removeFiles(files);
  return { finals: finals.size - unsettled, unsettled, added: batches.reduce((n, b) => n + b.added.length, 0), batches, ids: [...finals.keys()] };
}
