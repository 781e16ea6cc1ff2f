/**
 * Hears the config changes other replicas make: each write sends a NOTIFY in its own
 * transaction (so every committed change is announced, and only those), and one connection
 * per replica LISTENs. A replica that loses that connection may have missed changes: when it
 * reconnects it asks its listeners to reload everything (the change `*`).
 *
 * A barrier (ConfigStore.sync) is a NOTIFY this replica sends itself on the listening
 * connection: PostgreSQL delivers notifications in commit order, so once it comes back, every
 * change committed before it was sent has been heard. Callers that arrive while one barrier is
 * out share the next one, so a flood of unknown keys costs at most one barrier at a time.
 */
import pg from 'pg';
import type { RecordChange } from '../../core/ports.js';

export interface ChangeListenerOptions {
  readonly url: string;
  readonly schema: string;
  readonly channel: string;
  /** This replica's id: its own notifications are skipped (it told its listeners already). */
  readonly node: string;
  readonly onChange: (change: RecordChange) => void;
  readonly onError: (err: unknown) => void;
}

export const RESYNC: RecordChange = { kind: '*', id: '*' };

/** How long a barrier waits for its own notification before giving up. */
const BARRIER_TIMEOUT_MS = 2_000;

export class ChangeListener {
  private client: pg.Client | null = null;
  private closed = false;
  private retryMs = 100;
  private timer: NodeJS.Timeout | null = null;
  /** The next barrier, not sent yet: callers arriving now join it. */
  private queued: Promise<void> | null = null;
  /** The barrier out now. */
  private out: Promise<void> = Promise.resolve();
  private readonly barriers = new Map<string, () => void>();
  private barrierSeq = 0;

  constructor(private readonly o: ChangeListenerOptions) {}

  async start(): Promise<void> {
    await this.connect(false);
  }

  private async connect(resync: boolean): Promise<void> {
    const client = new pg.Client({ connectionString: this.o.url, options: `-c search_path=${this.o.schema}` });
    client.on('notification', (m) => {
      if (m.channel !== this.o.channel || !m.payload) return;
      const { node, kind, id, sync } = JSON.parse(m.payload) as { node: string; kind: string; id: string; sync?: string };
      if (sync !== undefined) {
        if (node === this.o.node) this.barriers.get(sync)?.();
      } else if (node !== this.o.node) this.o.onChange({ kind, id });
    });
    const lost = (err?: unknown) => {
      if (this.client !== client) return;
      this.client = null;
      if (err) this.o.onError(err);
      void client.end().catch(() => {});
      this.reconnect();
    };
    client.on('error', lost);
    client.on('end', () => lost());
    await client.connect();
    await client.query(`LISTEN ${this.o.channel}`);
    if (this.closed) {
      await client.end();
      return;
    }
    this.client = client;
    this.retryMs = 100;
    if (resync) this.o.onChange(RESYNC);
  }

  /** Resolves once every change committed before the call has been passed on (see above). */
  barrier(): Promise<void> {
    if (this.queued) return this.queued;
    const next = this.out
      .catch(() => {})
      .then(() => {
        this.queued = null;
        this.out = this.sendBarrier();
        return this.out;
      });
    this.queued = next;
    return next;
  }

  private sendBarrier(): Promise<void> {
    const client = this.client;
    if (!client) return Promise.reject(new Error('not listening to PostgreSQL (reconnecting)'));
    const nonce = String(++this.barrierSeq);
    return new Promise<void>((resolve, reject) => {
      const done = (err?: Error): void => {
        clearTimeout(timer);
        this.barriers.delete(nonce);
        if (err) reject(err);
        else resolve();
      };
      const timer = setTimeout(() => done(new Error(`no answer from PostgreSQL within ${BARRIER_TIMEOUT_MS} ms`)), BARRIER_TIMEOUT_MS);
      this.barriers.set(nonce, () => done());
      client.query('select pg_notify($1, $2)', [this.o.channel, JSON.stringify({ node: this.o.node, sync: nonce })]).catch((err: Error) => done(err));
    });
  }

  private reconnect(): void {
    if (this.closed || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.connect(true).catch((err: unknown) => {
        this.o.onError(err);
        this.retryMs = Math.min(this.retryMs * 2, 2000);
        this.reconnect();
      });
    }, this.retryMs);
    this.timer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    const c = this.client;
    this.client = null;
    if (c) await c.end().catch(() => {});
  }
}
