/**
 * Which provider serves a model, and at what price. A model may be named bare ("gpt-4o-mini":
 * the first provider whose `models` globs, or price book, has it) or with its provider
 * ("anthropic/claude-sonnet-4-5").
 */
import { BursarError } from '../core/errors.js';
import type { Provider } from '../core/ports.js';
import type { ModelPrice, PriceBook } from '../core/pricing.js';
import type { ResolvedProvider } from '../config/load.js';
import { anyGlob } from './globs.js';

export interface ProviderEntry {
  readonly cfg: ResolvedProvider;
  readonly provider: Provider;
}

export interface Target {
  readonly entry: ProviderEntry;
  /** The model name the provider is sent. */
  readonly model: string;
  readonly price: ModelPrice | null;
}

export interface ListedModel {
  readonly id: string;
  readonly provider: string;
  readonly kind: 'chat' | 'embedding';
}

export class ModelCatalog {
  private readonly byId: ReadonlyMap<string, ProviderEntry>;
  private readonly resolved = new Map<string, { entry: ProviderEntry; model: string }>();

  constructor(
    private readonly entries: readonly ProviderEntry[],
    private readonly book: PriceBook,
  ) {
    this.byId = new Map(entries.map((e) => [e.cfg.id, e]));
  }

  /** The provider, upstream model name and price for a requested model; refuses what cannot be served or priced. */
  resolve(requested: string, at: number): Target {
    let hit = this.resolved.get(requested);
    if (!hit) {
      hit = this.find(requested, at);
      if (this.resolved.size < 10_000) this.resolved.set(requested, hit);
    }
    const price = this.book.lookup(hit.entry.cfg.prices, hit.model, at) ?? null;
    if (!price && !hit.entry.cfg.allowUnpriced) {
      throw new BursarError('model_unpriced', `Model "${hit.model}" on provider "${hit.entry.cfg.id}" has no price, so its cost cannot be recorded. Add it under prices: in bursar.yaml, or set allow_unpriced: true on the provider.`, { param: 'model' });
    }
    return { entry: hit.entry, model: hit.model, price };
  }

  private find(requested: string, at: number): { entry: ProviderEntry; model: string } {
    const slash = requested.indexOf('/');
    if (slash > 0) {
      const entry = this.byId.get(requested.slice(0, slash));
      if (entry) return { entry, model: requested.slice(slash + 1) };
    }
    for (const entry of this.entries) {
      const serves = entry.cfg.models ? anyGlob(entry.cfg.models, requested) : this.book.lookup(entry.cfg.prices, requested, at) !== undefined;
      if (serves) return { entry, model: requested };
    }
    throw new BursarError('model_not_found', `No configured provider serves model "${requested}". List the models you can use with GET /v1/models, or add the model to a provider's models: in bursar.yaml.`, { param: 'model' });
  }

  /** Every model a provider is known to serve (its priced models, and explicit names in its globs). */
  list(at: number): ListedModel[] {
    const out = new Map<string, ListedModel>();
    for (const e of this.entries) {
      for (const p of this.book.models(e.cfg.prices, at)) {
        if (e.cfg.models && !anyGlob(e.cfg.models, p.model)) continue;
        if (!out.has(p.model)) out.set(p.model, { id: p.model, provider: e.cfg.id, kind: p.kind });
      }
      for (const m of e.cfg.models ?? []) {
        if (!m.includes('*') && !out.has(m)) out.set(m, { id: m, provider: e.cfg.id, kind: 'chat' });
      }
    }
    return [...out.values()];
  }
}
