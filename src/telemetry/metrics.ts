/**
 * Prometheus metrics at /metrics. Cost is counted in nano-units (integers; a float64 counter
 * stays exact up to about 9 million currency units, then is still fine for dashboards). Labels
 * are bounded: providers, models, departments and statuses come from configuration.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { LedgerLine } from '../core/ledger.js';

export class Metrics {
  readonly registry = new Registry();
  private readonly requests = new Counter({
    name: 'bursar_requests_total', help: 'Gateway calls by endpoint, provider, model, department and status.',
    labelNames: ['endpoint', 'provider', 'model', 'department', 'status'] as const, registers: [this.registry],
  });
  private readonly tokens = new Counter({
    name: 'bursar_tokens_total', help: 'Tokens by provider, model, department and kind (input, cached_input, cache_write, output, reasoning).',
    labelNames: ['provider', 'model', 'department', 'kind'] as const, registers: [this.registry],
  });
  private readonly cost = new Counter({
    name: 'bursar_cost_nanos_total', help: 'Cost in nano-units (1e-9) of the currency, by provider, model and department.',
    labelNames: ['provider', 'model', 'department', 'currency'] as const, registers: [this.registry],
  });
  private readonly duration = new Histogram({
    name: 'bursar_request_duration_seconds', help: 'Gateway call latency, to the last byte.',
    labelNames: ['endpoint', 'provider', 'status'] as const, registers: [this.registry],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
  });
  private readonly ttfb = new Histogram({
    name: 'bursar_upstream_ttfb_seconds', help: 'Time from the call reaching Bursar to the provider\'s first byte.',
    labelNames: ['provider'] as const, registers: [this.registry],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  });
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

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'bursar_process_' });
  }

  /** Counts one finished gateway call from its ledger line. */
  observe(line: LedgerLine): void {
    const d = line.dims;
    const provider = d.provider ?? 'none';
    const model = d.model ?? 'none';
    const department = d.department ?? 'none';
    this.requests.inc({ endpoint: line.endpoint ?? 'none', provider, model, department, status: line.status });
    for (const kind of ['input', 'cached_input', 'cache_write', 'output', 'reasoning'] as const) {
      const n = line.tokens[kind];
      if (n > 0) this.tokens.inc({ provider, model, department, kind }, n);
    }
    if (line.costNano !== 0n) this.cost.inc({ provider, model, department, currency: line.currency }, Number(line.costNano));
    if (line.latencyMs !== null) this.duration.observe({ endpoint: line.endpoint ?? 'none', provider, status: line.status }, line.latencyMs / 1000);
    if (line.ttfbMs !== null) this.ttfb.observe({ provider }, line.ttfbMs / 1000);
  }
}
