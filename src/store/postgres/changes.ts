/**
 * Hears the config changes other replicas make: each write sends a NOTIFY in its own
 * transaction (so every committed change is announced, and only those), and one connection
 * per replica LISTENs. A replica that loses that connection may have missed changes: when it
 * reconnects it asks its listeners to reload everything (the change `*`).
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

export class ChangeListener {
  private client: pg.Client | null = null;
  private closed = false;
  private retryMs = 100;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly o: ChangeListenerOptions) {}

  async start(): Promise<void> {
    await this.connect(false);
  }

  private async connect(resync: boolean): Promise<void> {
    const client = new pg.Client({ connectionString: this.o.url, options: `-c search_path=${this.o.schema}` });
    client.on('notification', (m) => {
      if (m.channel !== this.o.channel || !m.payload) return;
      const { node, kind, id } = JSON.parse(m.payload) as { node: string; kind: string; id: string };
      if (node !== this.o.node) this.o.onChange({ kind, id });
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
