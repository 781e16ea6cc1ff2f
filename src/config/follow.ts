/**
 * Keeps an in-memory view of some kinds of config records current: subscribes first (so no
 * change made while loading is missed), loads, then applies every change. A change made on
 * this node carries its record and applies at once; one relayed from another replica is
 * fetched, in order, and never replaces a newer version already held. The change `*` (a
 * replica that lost its notifications) reloads everything.
 */
import type { ConfigStore, RecordChange, StoredRecord } from '../core/ports.js';

export interface RecordView {
  put(record: StoredRecord): void;
  remove(kind: string, id: string): void;
  clear(): void;
  /** After a batch of puts and removes. */
  changed(): void;
}

export interface Follower {
  stop(): void;
  /** Resolves once the changes heard so far are applied to the view. */
  idle(): Promise<void>;
}

export async function follow(store: ConfigStore, kinds: readonly string[], view: RecordView, onError: (err: unknown) => void = () => {}): Promise<Follower> {
  const wanted = new Set(kinds);
  const versions = new Map<string, number>();
  const idOf = (kind: string, id: string) => `${kind}\u0000${id}`;
  const set = (kind: string, id: string, record: StoredRecord | null) => {
    view.remove(kind, id);
    if (record) {
      view.put(record);
      versions.set(idOf(kind, id), record.version);
    } else versions.delete(idOf(kind, id));
  };
  const reload = async () => {
    const all: StoredRecord[] = [];
    for (const kind of kinds) all.push(...(await store.list(kind)));
    view.clear();
    versions.clear();
    for (const r of all) {
      view.put(r);
      versions.set(idOf(r.kind, r.id), r.version);
    }
    view.changed();
  };
  const fetchAndSet = async (c: RecordChange) => {
    if (c.kind === '*') return reload();
    const record = (await store.get(c.kind, c.id)) ?? null;
    const held = versions.get(idOf(c.kind, c.id));
    if (record && held !== undefined && record.version < held) return; // a change applied meanwhile is newer
    set(c.kind, c.id, record);
    view.changed();
  };

  let ready = false;
  const early: RecordChange[] = [];
  let chain = Promise.resolve();
  const onChange = (c: RecordChange) => {
    if (c.kind !== '*' && !wanted.has(c.kind)) return;
    if (!ready) {
      early.push(c);
      return;
    }
    if (c.record !== undefined) {
      set(c.kind, c.id, c.record);
      view.changed();
      return;
    }
    chain = chain.then(() => fetchAndSet(c)).catch(onError);
  };
  const stop = store.watch(onChange);
  await reload();
  ready = true;
  for (const c of early) chain = chain.then(() => fetchAndSet(c)).catch(onError);
  await chain;
  return { stop, idle: () => chain };
}
