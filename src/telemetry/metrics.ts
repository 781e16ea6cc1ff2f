/**
 * Prometheus metrics at /metrics. The per-call series (requests, tokens, cost, latency) are
 * kept as plain numbers per label set and handed to prom-client's registry when scraped:
 * prom-client hashes label objects on every increment, which cost 3% of a call. Process
 * metrics and the exposition format are prom-client's.
 *
 * Cost is counted in nano-units (integers; a float64 counter stays exact to about 9 million
 * currency units, then is still fine for dashboards). Labels are bounded: providers, models,
 * departments and statuses come from configuration.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { TOKEN_KINDS, type LedgerLine } from '../core/ledger.js';

const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
const TTFB_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** Everything counted for one combination of endpoint, provider, model, department, status and currency. */
interface Series {
  readonly labels: { endpoint: string; provider: string; model: string; department: string; status: string; currency: string };
  requests: number;
  readonly tokens: number[];
  cost: number;
  readonly duration: Histo;
  readonly ttfb: Histo;
}

interface Histo {
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

const histo = (n: number): Histo => ({ counts: new Float64Array(n), sum: 0, count: 0 });

function observe(h: Histo, buckets: readonly number[], v: number): void {
  h.sum += v;
  h.count++;
  for (let i = 0; i < buckets.length; i++) {
    if (v <= buckets[i]!) {
      h.counts[i]!++;
      return;
    }
  }
}

type Value = { value: number; labels: Record<string, string | number>; metricName?: string };

/** A metric prom-client's registry can expose: what its own metric classes return from get(). */
class SeriesMetric {
  readonly aggregator = 'sum';
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'histogram',
    private readonly values: () => Value[],
  ) {}
  async get(): Promise<{ name: string; help: string; type: string; values: Value[]; aggregator: string }> {
    return { name: this.name, help: this.help, type: this.type, values: this.values(), aggregator: this.aggregator };
  }
  reset(): void {}
}

function histogramValues(name: string, buckets: readonly number[], entries: [Record<string, string>, Histo][]): Value[] {
  const out: Value[] = [];
  for (const [labels, h] of entries) {
    if (h.count === 0) continue;
    let cumulative = 0;
    buckets.forEach((le, i) => {
      cumulative += h.counts[i]!;
      out.push({ metricName: `${name}_bucket`, labels: { ...labels, le }, value: cumulative });
    });
    out.push({ metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: h.count });
    out.push({ metricName: `${name}_sum`, labels, value: h.sum });
    out.push({ metricName: `${name}_count`, labels, value: h.count });
  }
  return out;
}

export class Metrics {
  readonly registry = new Registry();
  private readonly series = new Map<string, Series>();
  private last: Series | null = null;
  readonly refusals = new Counter({
    name: 'bursar_refusals_total', help: 'Calls Bursar refused before any provider saw them, by error code.',
    labelNames: ['code'] as const, registers: [this.registry],
  });
  readonly ledgerPending = new Gauge({
    name: 'bursar_ledger_pending_lines', help: 'Ledger lines spooled but not yet in the store.', registers: [this.registry],
  });
  readonly ledgerErrors = new Counter({
    name: 'bursar_ledger_write_errors_total', help: 'Failed ledger batch writes (retried).', registers: [this.registry],
  });
  readonly uncounted = new Counter({
    name: 'bursar_budget_outage_admissions_total', help: 'Calls let through without a reservation while the shared budget counters were unreachable (their budgets allow it).', registers: [this.registry],
  });
  readonly countersPending = new Gauge({
    name: 'bursar_budget_settlements_pending', help: 'Committed ledger batches waiting to be counted on the shared budget counters.', registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'bursar_' });
    const all = (): Series[] => [...this.series.values()];
    const sum = (pick: (s: Series) => number, labels: (s: Series) => Record<string, string>): Value[] => {
      const acc = new Map<string, Value>();
      for (const s of all()) {
        const l = labels(s);
        const k = JSON.stringify(l);
        const v = acc.get(k);
        if (v) v.value += pick(s);
        else acc.set(k, { labels: l, value: pick(s) });
      }
      return [...acc.values()].filter((v) => v.value !== 0);
    };
    const reg = (m: SeriesMetric): void => this.registry.registerMetric(m as never);
    reg(new SeriesMetric('bursar_requests_total', 'Gateway calls by endpoint, provider, model, department and status.', 'counter', () =>
      sum((s) => s.requests, ({ labels: l }) => ({ endpoint: l.endpoint, provider: l.provider, model: l.model, department: l.department, status: l.status }))));
    reg(new SeriesMetric('bursar_tokens_total', 'Tokens by provider, model, department and kind (input, cached_input, cache_write, output, reasoning).', 'counter', () =>
      TOKEN_KINDS.flatMap((kind, i) => sum((s) => s.tokens[i]!, ({ labels: l }) => ({ provider: l.provider, model: l.model, department: l.department, kind })))));
    reg(new SeriesMetric('bursar_cost_nanos_total', 'Cost in nano-units (1e-9) of the currency, by provider, model and department.', 'counter', () =>
      sum((s) => s.cost, ({ labels: l }) => ({ provider: l.provider, model: l.model, department: l.department, currency: l.currency }))));
    reg(new SeriesMetric('bursar_request_duration_seconds', 'Gateway call latency, to the last byte.', 'histogram', () =>
      histogramValues('bursar_request_duration_seconds', DURATION_BUCKETS, mergeHistos(all(), (s) => s.duration, ({ labels: l }) => ({ endpoint: l.endpoint, provider: l.provider, status: l.status })))));
    reg(new SeriesMetric('bursar_upstream_ttfb_seconds', "Time from the call reaching Bursar to the provider's first byte.", 'histogram', () =>
      histogramValues('bursar_upstream_ttfb_seconds', TTFB_BUCKETS, mergeHistos(all(), (s) => s.ttfb, ({ labels: l }) => ({ provider: l.provider })))));
  }

  /** Counts one finished gateway call from its ledger line. */
  observe(line: LedgerLine): void {
    const d = line.dims;
    // Calls come in runs of one series (a key's traffic): the last one is tried before the map's key is built.
    const last = this.last;
    if (last !== null && inSeries(last.labels, line)) return count(last, line);
    const key = `${line.endpoint}\u0001${d.provider}\u0001${d.model}\u0001${d.department}\u0001${line.status}\u0001${line.currency}`;
    let s = this.series.get(key);
    if (!s) {
      s = {
        labels: {
          endpoint: line.endpoint ?? 'none', provider: d.provider ?? 'none', model: d.model ?? 'none',
          department: d.department ?? 'none', status: line.status, currency: line.currency,
        },
        requests: 0, tokens: [0, 0, 0, 0, 0], cost: 0, duration: histo(DURATION_BUCKETS.length), ttfb: histo(TTFB_BUCKETS.length),
      };
      this.series.set(key, s);
    }
    this.last = s;
    count(s, line);
  }
}

/** Whether a line's labels are a series'. */
function inSeries(l: Series['labels'], line: LedgerLine): boolean {
  const d = line.dims;
  return (
    l.model === (d.model ?? 'none') && l.department === (d.department ?? 'none') && l.status === line.status &&
    l.provider === (d.provider ?? 'none') && l.endpoint === (line.endpoint ?? 'none') && l.currency === line.currency
  );
}

function count(s: Series, line: LedgerLine): void {
  s.requests++;
  const t = line.tokens;
  s.tokens[0]! += t.input;
  s.tokens[1]! += t.cached_input;
  s.tokens[2]! += t.cache_write;
  s.tokens[3]! += t.output;
  s.tokens[4]! += t.reasoning;
  if (line.costNano !== 0n) s.cost += Number(line.costNano);
  if (line.latencyMs !== null) observe(s.duration, DURATION_BUCKETS, line.latencyMs / 1000);
  if (line.ttfbMs !== null) observe(s.ttfb, TTFB_BUCKETS, line.ttfbMs / 1000);
}

function mergeHistos(all: Series[], pick: (s: Series) => Histo, labels: (s: Series) => Record<string, string>): [Record<string, string>, Histo][] {
  const acc = new Map<string, [Record<string, string>, Histo]>();
  for (const s of all) {
    const l = labels(s);
    const k = JSON.stringify(l);
    const h = pick(s);
    const cur = acc.get(k);
    if (!cur) {
      acc.set(k, [l, { counts: Float64Array.from(h.counts), sum: h.sum, count: h.count }]);
    } else {
      for (let i = 0; i < h.counts.length; i++) cur[1].counts[i]! += h.counts[i]!;
      cur[1].sum += h.sum;
      cur[1].count += h.count;
    }
  }
  return [...acc.values()];
}
