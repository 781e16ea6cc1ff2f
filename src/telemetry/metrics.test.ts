import { describe, expect, it } from 'vitest';
import { blankLine } from '../core/ledger.js';
import { Metrics } from './metrics.js';

function line(status: 'ok' | 'error', ms: number) {
  const b = blankLine('x', 0);
  return { ...b, status, endpoint: 'chat', latencyMs: ms, ttfbMs: 3, costNano: 1500n, dims: { ...b.dims, provider: 'openai', model: 'm', department: 'support' }, tokens: { ...b.tokens, input: 10, output: 4 } };
}

describe('Metrics', () => {
  it('exposes counters and histograms in the Prometheus text format', async () => {
    const m = new Metrics();
    m.observe(line('ok', 3));
    m.observe(line('ok', 700));
    m.observe(line('error', 30));
    const text = await m.registry.metrics();
    expect(text).toContain('# TYPE bursar_requests_total counter');
    expect(text).toContain('bursar_requests_total{endpoint="chat",provider="openai",model="m",department="support",status="ok"} 2');
    expect(text).toContain('bursar_tokens_total{provider="openai",model="m",department="support",kind="input"} 30');
    expect(text).toContain('bursar_cost_nanos_total{provider="openai",model="m",department="support",currency="USD"} 4500');
    expect(text).toContain('bursar_request_duration_seconds_bucket{endpoint="chat",provider="openai",status="ok",le="0.005"} 1');
    expect(text).toContain('bursar_request_duration_seconds_bucket{endpoint="chat",provider="openai",status="ok",le="1"} 2');
    expect(text).toContain('bursar_request_duration_seconds_bucket{endpoint="chat",provider="openai",status="ok",le="+Inf"} 2');
    expect(text).toContain('bursar_request_duration_seconds_count{endpoint="chat",provider="openai",status="error"} 1');
    expect(text).toMatch(/bursar_upstream_ttfb_seconds_sum\{provider="openai"\} 0\.009/);
    expect(text).toContain('bursar_process_resident_memory_bytes');
  });
});
