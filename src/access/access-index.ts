/**
 * What the hot path needs to know about credentials, in memory: key and token records by
 * hash, and the set of suspended workflows and agents. Loaded once, then kept current from the
 * ConfigStore's change notifications, so a revocation is in force on the very next call.
 */
import type { ConfigStore, StoredRecord } from '../core/ports.js';
import { follow, type Follower } from '../config/follow.js';
import {
  KEY_KIND, TOKEN_KIND, SUSPENSION_KIND, keyBodySchema, tokenBodySchema, suspensionId,
  type KeyBody, type TokenBody, type Suspendable,
} from './records.js';

export interface KeyEntry {
  readonly id: string;
  readonly body: KeyBody;
}

export interface TokenEntry {
  readonly id: string;
  readonly body: TokenBody;
}

export class AccessIndex {
  private readonly keyByHash = new Map<string, KeyEntry>();
  private readonly keyHashes = new Map<string, string[]>();
  private readonly tokenByHash = new Map<string, TokenEntry>();
  private readonly tokenHashes = new Map<string, string>();
  private readonly suspended = new Set<string>();
  private follower: Follower | null = null;

  private constructor(private readonly store: ConfigStore) {}

  static async load(store: ConfigStore, onError?: (err: unknown) => void): Promise<AccessIndex> {
    const index = new AccessIndex(store);
    index.follower = await follow(store, [KEY_KIND, TOKEN_KIND, SUSPENSION_KIND], {
      put: (r) => index.put(r),
      remove: (kind, id) => index.remove(kind, id),
      clear: () => {
        for (const m of [index.keyByHash, index.keyHashes, index.tokenByHash, index.tokenHashes]) m.clear();
        index.suspended.clear();
      },
      changed: () => {},
    }, onError);
    return index;
  }

  key(hash: string): KeyEntry | undefined {
    return this.keyByHash.get(hash);
  }

  token(hash: string): TokenEntry | undefined {
    return this.tokenByHash.get(hash);
  }

  /**
   * Waits until every change committed so far, on any replica, is in the index: a key or token
   * made a moment ago on another replica is then found (a miss costs one round trip to the
   * store, shared by the misses that come in meanwhile). Resolves anyway if the store is away.
   */
  async catchUp(): Promise<void> {
    try {
      await this.store.sync();
      await this.follower?.idle();
    } catch {
      /* the store is away: what the index holds is all there is */
    }
  }

  isSuspended(kind: Suspendable, name: string): boolean {
    return this.suspended.size > 0 && this.suspended.has(suspensionId(kind, name));
  }

  close(): void {
    this.follower?.stop();
  }

  private put(r: StoredRecord): void {
    switch (r.kind) {
      case KEY_KIND: {
        const body = keyBodySchema.parse(r.body);
        const entry = { id: r.id, body };
        const hashes = [body.hash, ...(body.previous ? [body.previous.hash] : [])];
        for (const h of hashes) this.keyByHash.set(h, entry);
        this.keyHashes.set(r.id, hashes);
        return;
      }
      case TOKEN_KIND: {
        const body = tokenBodySchema.parse(r.body);
        this.tokenByHash.set(body.hash, { id: r.id, body });
        this.tokenHashes.set(r.id, body.hash);
        return;
      }
      case SUSPENSION_KIND:
        this.suspended.add(r.id);
        return;
    }
  }

  private remove(kind: string, id: string): void {
    if (kind === KEY_KIND) {
      for (const h of this.keyHashes.get(id) ?? []) this.keyByHash.delete(h);
      this.keyHashes.delete(id);
    } else if (kind === TOKEN_KIND) {
      const h = this.tokenHashes.get(id);
      if (h) this.tokenByHash.delete(h);
      this.tokenHashes.delete(id);
    } else {
      this.suspended.delete(id);
    }
  }
}
